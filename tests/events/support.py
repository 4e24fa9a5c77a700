"""What the outbound-webhook tests share: a real webhook receiver on 127.0.0.1 and the delivery
bookkeeping they read back. The production and browser suites use the receiver too."""

import json
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import frappe
from frappe.utils import now_datetime


@dataclass
class Received:
	path: str
	headers: dict[str, str]  # lower-case names
	body: bytes

	@property
	def event_id(self) -> str:
		return self.headers["webhook-id"]

	def json(self) -> dict:
		return json.loads(self.body)


class Receiver:
	"""A webhook endpoint on 127.0.0.1 that records every request and answers as told.

	`reply(status, headers, body)` sets the answer to every request; `delay` holds each answer; `gate(n)` holds the first n requests until all n are in
	flight together (proof that n clients were sending at once). It stops itself after MAX_LIFETIME
	seconds and takes at most MAX_REQUESTS requests.
	"""

	MAX_LIFETIME = 300
	MAX_REQUESTS = 5000

	def __init__(self, port: int = 0) -> None:
		self.port = port
		self.received: list[Received] = []
		self.default = (200, {}, b'{"ok":true}')
		self.delay = 0.0
		self.barrier: threading.Barrier | None = None
		self._lock = threading.Lock()
		self._server: ThreadingHTTPServer | None = None
		self._timer: threading.Timer | None = None

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.port}/hook"

	def reply(self, status: int, headers: dict | None = None, body: bytes = b"") -> None:
		self.default = (status, headers or {}, body)

	def gate(self, parties: int, timeout: float = 60) -> None:
		self.barrier = threading.Barrier(parties, timeout=timeout)

	def start(self) -> "Receiver":
		receiver = self

		class Handler(BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"
			disable_nagle_algorithm = True  # headers and body go out at once, as real servers send them

			def do_POST(self):
				body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				index, (status, headers, reply) = receiver._record(self.path, self.headers, body)
				if receiver.delay:
					time.sleep(receiver.delay)
				if receiver.barrier is not None and index < receiver.barrier.parties:
					try:
						receiver.barrier.wait()
					except threading.BrokenBarrierError:
						pass
				self.send_response(status)
				for name, value in headers.items():
					self.send_header(name, value)
				self.send_header("Content-Length", str(len(reply)))
				self.end_headers()
				self.wfile.write(reply)

			def log_message(self, *args):
				pass

		ThreadingHTTPServer.allow_reuse_address = True
		self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
		self._server.daemon_threads = True
		self.port = self._server.server_address[1]
		threading.Thread(
			target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
		).start()
		self._timer = threading.Timer(self.MAX_LIFETIME, self.stop)
		self._timer.daemon = True
		self._timer.start()
		return self

	def _record(self, path, headers, body) -> tuple:
		with self._lock:
			index = len(self.received)
			if index >= self.MAX_REQUESTS:
				return index, (503, {}, b"receiver limit reached")
			self.received.append(Received(path, {k.lower(): v for k, v in headers.items()}, body))
			return index, self.default

	def stop(self) -> None:
		with self._lock:
			server, self._server = self._server, None
		if server is not None:
			server.shutdown()
			server.server_close()
		if self._timer is not None:
			self._timer.cancel()

	def ids(self) -> list[str]:
		return [request.event_id for request in self.received]


def commit_and_deliver(run_background_jobs) -> int:
	"""Commit (inside the test's transaction: its after-commit hooks run) and run the queued jobs."""
	frappe.db.commit()
	return run_background_jobs()


def deliveries(subscription_name: str) -> list[dict]:
	return frappe.get_all(
		"Hub Delivery",
		filters={"subscription": subscription_name},
		fields=[
			"name",
			"event",
			"status",
			"attempt_count",
			"reference_name",
			"next_attempt_at",
			"last_attempt_at",
		],
		order_by="name asc",
	)


def make_due() -> None:
	"""Travel past every scheduled retry (our bookkeeping rows only)."""
	frappe.db.sql(
		"update `tabHub Delivery` set next_attempt_at = %s where status in ('Pending', 'Failed')",
		(now_datetime() - timedelta(seconds=1),),
	)


def secret_of(subscription_name: str) -> str:
	return frappe.get_doc("Hub Subscription", subscription_name).get_password("secret")

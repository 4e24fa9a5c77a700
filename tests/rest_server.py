"""A small JSON REST API on 127.0.0.1 for the sync tests: a catalog of records served page by page,
by a cursor (`GET /v1/items?after=SEQ&limit=N`, oldest change first) or by next-page tokens
(`GET /v1/pages?page_token=T&limit=N`). Bearer-token authentication. It can hold a request until the
test lets it go (to stop a run between two pages), and it stops itself after a while in any case."""

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "rest-test-token"
LIFETIME_SECONDS = 600
HOLD_TIMEOUT_SECONDS = 120


class Catalog:
	"""Records by id; every write gives the record the next sequence number (`seq`), as an
	`updated_seq` column would."""

	def __init__(self) -> None:
		self.records: dict[int, dict] = {}
		self.sequence = 0
		self.lock = threading.Lock()

	def put(self, record_id: int, **values) -> dict:
		with self.lock:
			self.sequence += 1
			record = {**self.records.get(record_id, {}), **values, "id": record_id, "seq": self.sequence}
			self.records[record_id] = record
			return record

	def after(self, seq: int, limit: int) -> list[dict]:
		with self.lock:
			ordered = sorted(self.records.values(), key=lambda r: r["seq"])
		return [dict(r) for r in ordered if r["seq"] > seq][:limit]


class RestServer:
	def __init__(self) -> None:
		self.catalog = Catalog()
		self.requests: list[str] = []
		self.request_ids: list[str | None] = []  # each request's X-Request-Id
		self.hold_at: int | None = None  # the request number (1-based) to hold
		self.held = threading.Event()
		self.release = threading.Event()
		self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
		self._httpd.daemon_threads = True
		self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
		self._stopping = threading.Lock()
		self._stopped = False

	def hold_request(self, number: int) -> None:
		"""Hold the `number`-th request from now until `release` is set."""
		self.hold_at = len(self.requests) + number
		self.held.clear()
		self.release.clear()

	def _handler(self):
		server = self

		class Handler(BaseHTTPRequestHandler):
			def log_message(self, *args) -> None:
				pass

			def do_GET(self) -> None:
				server.requests.append(self.path)
				server.request_ids.append(self.headers.get("X-Request-Id"))
				if server.hold_at is not None and len(server.requests) == server.hold_at:
					server.held.set()
					server.release.wait(HOLD_TIMEOUT_SECONDS)
				if self.headers.get("Authorization") != f"Bearer {TOKEN}":
					return self._send(401, {"error": "unauthorized"})
				url = urlsplit(self.path)
				query = {key: values[-1] for key, values in parse_qs(url.query).items()}
				limit = int(query.get("limit", 20))
				if url.path == "/v1/items":
					items = server.catalog.after(int(query.get("after", 0)), limit)
					return self._send(200, {"data": {"items": items}, "count": len(items)})
				if url.path == "/v1/pages":
					items = server.catalog.after(int(query.get("page_token") or 0), limit)
					more = bool(items) and bool(server.catalog.after(items[-1]["seq"], 1))
					return self._send(
						200, {"results": items, "next": str(items[-1]["seq"]) if more else None}
					)
				if url.path == "/":
					return self._send(200, {"service": "rest-test"})
				return self._send(404, {"error": "not found"})

			def _send(self, status: int, body: dict) -> None:
				payload = json.dumps(body).encode()
				self.send_response(status)
				self.send_header("Content-Type", "application/json")
				self.send_header("Content-Length", str(len(payload)))
				self.end_headers()
				self.wfile.write(payload)

		return Handler

	def start(self) -> None:
		threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
		self._watchdog = threading.Timer(LIFETIME_SECONDS, self.stop)
		self._watchdog.daemon = True
		self._watchdog.start()

	def stop(self) -> None:
		with self._stopping:
			if self._stopped:
				return
			self._stopped = True
		self.release.set()
		self._httpd.shutdown()
		self._httpd.server_close()
		self._watchdog.cancel()


@contextlib.contextmanager
def rest_server() -> Iterator[RestServer]:
	server = RestServer()
	server.start()
	try:
		yield server
	finally:
		server.stop()

"""Issue 4's outbound-event benchmarks, on two identical DocTypes this module creates: `Hub Benchmark
Event Item` has one active Hub Subscription, `Hub Benchmark Plain Item` none.

(c) The cost of writing a document when its DocType has one active Hub Subscription, against none:
    `get_doc().insert()` followed by a commit, one document per transaction as requests write them,
    in this process as the benchmark user (run_as of the subscription too). The subscribed path writes
    the Hub Event and Hub Delivery and queues the delivery job after the commit (to the real Redis; no
    worker runs meanwhile, and the jobs are removed afterwards). Inserts alternate between the two
    DocTypes one by one (ABBA), so that a busy machine slows both alike; each insert is timed and the
    medians are compared. Target: the subscribed insert + commit costs at most 1.2x the plain one.
    The insert alone (without its commit) is reported beside it.

(d) Deliveries per second: a backlog of committed deliveries sent by one worker (the sweep job, run in
    this process as a worker runs it: claim batches with SKIP LOCKED, sign, POST, record, commit) against
    a bare `requests.post` loop sending the same bodies from one process. Both go to the same receiver,
    a small HTTP server in a separate process on 127.0.0.1 that answers 200. Rounds alternate; the
    median rate counts. Target: the worker reaches at least 0.5x the bare loop's rate.

What the benchmark writes (its DocType, documents, subscription, events, deliveries) stays on the
site, except the Redis jobs it queued, which it removes.
"""

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import requests
from rq import Queue

import frappe
from frappe.utils.background_jobs import get_queue_list, get_redis_conn

from benchmarks.harness import Context, elapsed, row
from integration_hub.events import jobs, outbox

DOCTYPE = "Hub Benchmark Event Item"
PLAIN_DOCTYPE = "Hub Benchmark Plain Item"
INSERT_PAIRS = 600
INSERT_WARM_UP = 50
DELIVERIES = 300
DELIVERY_ROUNDS = 3
DELIVERY_WARM_UP = 20

# The targets of issue 4.
INSERT_COST = 1.2
DELIVERY_RATE = 0.5

RECEIVER = """
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	disable_nagle_algorithm = True  # headers and body go out at once, as real servers send them

	def do_POST(self):
		self.rfile.read(int(self.headers.get("Content-Length") or 0))
		self.send_response(200)
		self.send_header("Content-Length", "2")
		self.end_headers()
		self.wfile.write(b"ok")

	def log_message(self, *args):
		pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
threading.Timer(float(sys.argv[1]), server.shutdown).start()  # stops by itself
server.serve_forever()
"""
RECEIVER_LIFETIME = 900


def run(context: Context) -> list[dict]:
	ensure_doctype(DOCTYPE)
	ensure_doctype(PLAIN_DOCTYPE)
	with receiver() as url:
		subscription = ensure_subscription(url, context.user)
		try:
			rows = [*insert_cost(context, subscription), delivery_rate(context, subscription, url)]
		finally:
			set_subscription_enabled(subscription, False)
			remove_queued_jobs()
	return rows


# --- setup -----------------------------------------------------------------------------------


def ensure_doctype(name: str) -> None:
	if frappe.db.exists("DocType", name):
		return
	frappe.get_doc(
		{
			"doctype": "DocType",
			"name": name,
			"module": "Integration Hub",
			"custom": 1,
			"autoname": "hash",
			"fields": [
				{"fieldname": "code", "fieldtype": "Data", "label": "Code"},
				{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
				{"fieldname": "qty", "fieldtype": "Int", "label": "Quantity"},
				{"fieldname": "status", "fieldtype": "Select", "label": "Status", "options": "Open\nClosed"},
				{"fieldname": "notes", "fieldtype": "Small Text", "label": "Notes"},
			],
			"permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}],
		}
	).insert()
	frappe.db.commit()


def ensure_subscription(url: str, run_as: str) -> str:
	name = frappe.db.get_value("Hub Subscription", {"document_type": DOCTYPE})
	doc = frappe.get_doc("Hub Subscription", name) if name else frappe.new_doc("Hub Subscription")
	doc.update(
		{
			"document_type": DOCTYPE,
			"endpoint_url": url,
			"run_as": run_as,
			"enabled": 0,
			"status": "Active",
			"send_on_insert": 1,
			"send_on_update": 1,
			"timeout_seconds": 15,
		}
	)
	doc.save()
	frappe.db.commit()
	return doc.name


def set_subscription_enabled(name: str, enabled: bool) -> None:
	doc = frappe.get_doc("Hub Subscription", name)
	doc.enabled = int(enabled)
	doc.status = "Active"
	doc.save()
	frappe.db.commit()


@contextlib.contextmanager
def receiver() -> Iterator[str]:
	process = subprocess.Popen(
		[sys.executable, "-c", RECEIVER, str(RECEIVER_LIFETIME)], stdout=subprocess.PIPE, text=True
	)
	try:
		port = int(process.stdout.readline())
		yield f"http://127.0.0.1:{port}/hook"
	finally:
		process.terminate()
		process.wait(timeout=15)


def remove_queued_jobs() -> None:
	"""The delivery jobs the subscribed inserts queued after their commits (no worker ran them)."""
	connection = get_redis_conn()
	for queue_name in get_queue_list(build_queue_name=True):
		queue = Queue(queue_name, connection=connection)
		for job in queue.get_jobs():
			if job.kwargs.get("site") == frappe.local.site and job.kwargs.get("method") == (
				"integration_hub.events.jobs.deliver"
			):
				job.delete()
	outbox.delivery_job_started()  # no delivery job is queued any more


# --- (c) insert cost -------------------------------------------------------------------------


def insert_cost(context: Context, subscription: str) -> list[dict]:
	timings: dict[str, dict[str, list[float]]] = {
		doctype: {"insert": [], "commit": []} for doctype in (PLAIN_DOCTYPE, DOCTYPE)
	}
	with context.as_benchmark_user():
		set_subscription_enabled(subscription, True)
		for n in range(INSERT_WARM_UP):
			_timed_insert(PLAIN_DOCTYPE, n)
			_timed_insert(DOCTYPE, n)
		for n in range(INSERT_PAIRS):
			order = (PLAIN_DOCTYPE, DOCTYPE) if n % 2 == 0 else (DOCTYPE, PLAIN_DOCTYPE)
			for doctype in order:
				inserted, committed = _timed_insert(doctype, n)
				timings[doctype]["insert"].append(inserted)
				timings[doctype]["commit"].append(committed)
			if n % 100 == 99:
				remove_queued_jobs()
		remove_queued_jobs()
	rows = []
	for kind, label, target in (
		("commit", "(c) insert + commit, 1 subscription vs none (cost)", INSERT_COST),
		("insert", "(c) doc.insert() alone, 1 subscription vs none (cost)", None),
	):
		plain = statistics.median(timings[PLAIN_DOCTYPE][kind]) * 1000
		subscribed = statistics.median(timings[DOCTYPE][kind]) * 1000
		ratio = subscribed / plain
		context.log(f"(c) {kind}: median {plain:.2f} ms plain, {subscribed:.2f} ms subscribed")
		rows.append(
			row(
				label,
				f"no subscription: {plain:.2f} ms/doc",
				f"1 active subscription: {subscribed:.2f} ms/doc",
				ratio,
				f"<= {target}x" if target else None,
				ratio <= target if target else None,
			)
		)
	return rows


def _timed_insert(doctype: str, n: int) -> tuple[float, float]:
	"""Seconds for `insert()`, and for `insert()` plus its commit."""
	doc = frappe.get_doc(
		{
			"doctype": doctype,
			"code": f"{n}-{frappe.generate_hash(length=8)}",
			"title": f"Benchmark item {n}",
			"qty": n,
			"status": "Open",
			"notes": "written by benchmarks/bench_events.py",
		}
	)
	started = time.perf_counter()
	doc.insert()
	inserted = time.perf_counter()
	frappe.db.commit()
	return inserted - started, time.perf_counter() - started


# --- (d) delivery rate -----------------------------------------------------------------------


def delivery_rate(context: Context, subscription: str, url: str) -> dict:
	set_subscription_enabled(subscription, True)
	_drain()  # whatever (c) left due
	_backlog(DELIVERY_WARM_UP)
	jobs.sweep()
	worker, bare = [], []
	for _round in range(DELIVERY_ROUNDS):
		bodies = _backlog(DELIVERIES)
		sent = []
		worker.append(DELIVERIES / elapsed(lambda sent=sent: sent.append(jobs.sweep())))
		if sent != [DELIVERIES]:
			raise RuntimeError(f"the sweep sent {sent} deliveries, expected {DELIVERIES}")
		bare.append(DELIVERIES / elapsed(lambda bodies=bodies: _post_each(url, bodies)))
	failed = frappe.db.count("Hub Delivery", {"subscription": subscription, "status": ["!=", "Succeeded"]})
	context.log(f"(d) worker {worker} deliveries/s; bare loop {bare} posts/s; {failed} not succeeded")
	worker_rate, bare_rate = statistics.median(worker), statistics.median(bare)
	ratio = worker_rate / bare_rate
	return row(
		"(d) deliveries/s, one worker vs bare requests.post loop",
		f"bare requests.post loop: {bare_rate:.0f} posts/s",
		f"one worker (sweep job): {worker_rate:.0f} deliveries/s",
		ratio,
		f">= {DELIVERY_RATE}x",
		ratio >= DELIVERY_RATE,
	)


def _backlog(count: int) -> list[bytes]:
	"""`count` committed deliveries of distinct documents (their jobs removed: the sweep sends them)."""
	before = frappe.db.sql("select coalesce(max(name), 0) from `tabHub Delivery`")[0][0]
	for n in range(count):
		frappe.get_doc(
			{"doctype": DOCTYPE, "code": f"backlog-{n}-{frappe.generate_hash(length=6)}", "qty": n}
		).insert()
	frappe.db.commit()
	remove_queued_jobs()
	return [
		payload.encode()
		for (payload,) in frappe.db.sql(
			"select payload from `tabHub Delivery` where name > %s order by name", (before,)
		)
	]


def _drain() -> None:
	while jobs.sweep():
		pass


def _post_each(url: str, bodies: list[bytes]) -> None:
	for body in bodies:
		response = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=15)
		response.raise_for_status()

"""What every benchmark module gets: the site, a real web server for it, an authenticated HTTP client,
timing helpers and the result-row format. `benchmarks/run` starts `runner.py`, which builds one
`Context` and passes it to each `bench_*.py` module's `run(context)`.
"""

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import frappe

from tests.web_server import Client, gunicorn

# The user every benchmark acts as, over HTTP and in-process alike, so that all compared paths go
# through the same permission checks. A System Manager: full rights on what the benchmarks create.
BENCHMARK_USER = "integration-hub-benchmark@example.com"
BENCHMARK_ROLE = "System Manager"
SERVER_WORKERS = 2
REQUEST_TIMEOUT = 300


@dataclass
class Context:
	"""What a benchmark module's `run(context)` receives.

	site          the site's name; the runner is connected to it (`frappe.db` works, as Administrator)
	base_url      the real gunicorn serving the site on 127.0.0.1
	user          the benchmark user (System Manager); `token` is its `key:secret` for token auth
	"""

	site: str
	base_url: str
	user: str
	token: str
	_clients: list[Client] = field(default_factory=list)

	def http(self, authenticated: bool = True) -> Client:
		"""A client for the site, authenticated as the benchmark user unless `authenticated=False`."""
		client = Client(
			self.base_url, self.site, self.token if authenticated else None, timeout=REQUEST_TIMEOUT
		)
		self._clients.append(client)
		return client

	@contextlib.contextmanager
	def as_benchmark_user(self) -> Iterator[None]:
		"""Run in-process Frappe code as the same user the HTTP calls authenticate as."""
		previous = frappe.session.user
		frappe.set_user(self.user)
		try:
			yield
		finally:
			frappe.set_user(previous)

	def log(self, message: str) -> None:
		print(f"  {message}", file=sys.stderr, flush=True)

	def close(self) -> None:
		for client in self._clients:
			client.close()


def row(
	benchmark: str,
	baseline: str,
	measured: str,
	ratio: float,
	target: str | None = None,
	met: bool | None = None,
) -> dict:
	"""One line of the results table (see benchmarks/README.md for the meaning of each column)."""
	return {
		"benchmark": benchmark,
		"baseline": baseline,
		"measured": measured,
		"ratio": ratio,
		"target": target,
		"met": met,
	}


def elapsed(fn: Callable[[], object]) -> float:
	"""Seconds `fn()` took, wall clock."""
	start = time.perf_counter()
	fn()
	return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
	return statistics.median(elapsed(fn) for _ in range(repeat))


def rounds_text(ratios: list[float]) -> str:
	return " / ".join(f"{r:.2f}x" for r in ratios)


@dataclass
class LatencyComparison:
	"""Per round: the ratio of the two requests' median latencies (ours / theirs), and each one's median
	in milliseconds."""

	ratios: list[float]
	medians: dict[str, list[float]]

	@property
	def ratio(self) -> float:
		return statistics.median(self.ratios)

	def median_ms(self, name: str) -> float:
		return statistics.median(self.medians[name])


def compare_latency(
	context: "Context",
	ours: tuple[str, Callable[[], object]],
	theirs: tuple[str, Callable[[], object]],
	*,
	rounds: int,
	requests_per_round: int,
) -> LatencyComparison:
	"""Two requests alternating one by one (in one order on even requests, the other on odd ones),
	`requests_per_round` of each per round, after warm-up calls that reach every web server worker."""
	requests = dict((ours, theirs))
	for _ in range(5 * SERVER_WORKERS):
		for request in requests.values():
			request()
	ratios, medians = [], {name: [] for name in requests}
	for round_number in range(rounds):
		times: dict[str, list[float]] = {name: [] for name in requests}
		for n in range(requests_per_round):
			for name in requests if n % 2 == 0 else reversed(list(requests)):
				times[name].append(elapsed(requests[name]))
		for name in requests:
			medians[name].append(statistics.median(times[name]) * 1000)
		ratios.append(medians[ours[0]][-1] / medians[theirs[0]][-1])
		context.log(
			f"round {round_number + 1}/{rounds}: "
			+ ", ".join(f"{name} {medians[name][-1]:.2f} ms" for name in requests)
		)
	return LatencyComparison(ratios, medians)


PERMISSIONS = [{"role": BENCHMARK_ROLE, "read": 1, "write": 1, "create": 1, "delete": 1}]
# A plain record keyed by `code`, as the document and sync benchmarks write.
RECORD_FIELDS = [
	{"fieldname": "code", "fieldtype": "Data", "label": "Code", "reqd": 1, "unique": 1},
	{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
	{"fieldname": "qty", "fieldtype": "Int", "label": "Quantity"},
	{"fieldname": "status", "fieldtype": "Select", "label": "Status", "options": "Open\nClosed"},
	{"fieldname": "notes", "fieldtype": "Small Text", "label": "Notes"},
]


def ensure_custom_doctype(name: str, fields: list[dict], istable: int = 0) -> None:
	"""A custom DocType of the benchmarks, made once per site (its DDL commits). Commits."""
	if frappe.db.exists("DocType", name):
		return
	frappe.get_doc(
		{
			"doctype": "DocType",
			"name": name,
			"module": "Integration Hub",
			"custom": 1,
			"autoname": "hash",
			"istable": istable,
			"fields": fields,
			"permissions": [] if istable else PERMISSIONS,
		}
	).insert()
	frappe.db.commit()


def ensure_benchmark_user() -> str:
	"""The benchmark user, with a fresh API key and secret; returns `key:secret`. Commits."""
	if frappe.db.exists("User", BENCHMARK_USER):
		user = frappe.get_doc("User", BENCHMARK_USER)
	else:
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": BENCHMARK_USER,
				"first_name": "Integration Hub Benchmark",
				"send_welcome_email": 0,
				"user_type": "System User",
			}
		)
		user.append("roles", {"role": BENCHMARK_ROLE})
		user.insert(ignore_permissions=True)
	secret = frappe.generate_hash(length=15)
	user.api_key = user.api_key or frappe.generate_hash(length=15)
	user.api_secret = secret
	user.save(ignore_permissions=True)
	frappe.db.commit()
	return f"{user.api_key}:{secret}"


@contextlib.contextmanager
def web_server(site: str, sites_path: str, log_path: Path) -> Iterator[str]:
	"""A real Frappe web server (gunicorn, as in production) for the site on 127.0.0.1, stopped on exit."""
	with gunicorn(
		site=site, workers=SERVER_WORKERS, request_timeout=REQUEST_TIMEOUT, cwd=sites_path, log_path=log_path
	) as base_url:
		yield base_url

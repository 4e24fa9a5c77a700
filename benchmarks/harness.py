"""What every benchmark module gets: the site, a real web server for it, an authenticated HTTP client,
timing helpers and the result-row format. `benchmarks/run` starts `runner.py`, which builds one
`Context` and passes it to each `bench_*.py` module's `run(context)`.
"""

import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

import frappe

# The user every benchmark acts as, over HTTP and in-process alike, so that all compared paths go
# through the same permission checks. A System Manager: full rights on what the benchmarks create.
BENCHMARK_USER = "integration-hub-benchmark@example.com"
BENCHMARK_ROLE = "System Manager"
SERVER_WORKERS = 2
REQUEST_TIMEOUT = 300


class Client(requests.Session):
	"""HTTP client for the site: relative URLs, the site's Host header, optional token auth."""

	def __init__(self, base_url: str, site: str, token: str | None = None) -> None:
		super().__init__()
		self.base_url = base_url
		self.headers["Host"] = site
		if token:
			self.headers["Authorization"] = f"token {token}"

	def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:
		kwargs.setdefault("timeout", REQUEST_TIMEOUT)
		return super().request(method, f"{self.base_url}{url}", *args, **kwargs)


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
		client = Client(self.base_url, self.site, self.token if authenticated else None)
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
	port = _free_port()
	gunicorn = Path(sys.executable).parent / "gunicorn"
	with open(log_path, "wb") as log:
		process = subprocess.Popen(
			[
				str(gunicorn),
				"--bind",
				f"127.0.0.1:{port}",
				"--workers",
				str(SERVER_WORKERS),
				"--timeout",
				str(REQUEST_TIMEOUT),
				"--graceful-timeout",
				"5",
				"frappe.app:application",
			],
			cwd=sites_path,
			stdout=log,
			stderr=subprocess.STDOUT,
		)
	base_url = f"http://127.0.0.1:{port}"
	try:
		_wait_until_serving(base_url, site, process, log_path)
		yield base_url
	finally:
		process.terminate()
		try:
			process.wait(timeout=15)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()


def _free_port() -> int:
	with socket.socket() as probe:
		probe.bind(("127.0.0.1", 0))
		return probe.getsockname()[1]


def _wait_until_serving(base_url: str, site: str, process: subprocess.Popen, log_path: Path) -> None:
	deadline = time.monotonic() + 120
	while time.monotonic() < deadline:
		if process.poll() is not None:
			raise RuntimeError(f"the web server exited with {process.returncode}:\n{_tail(log_path)}")
		with contextlib.suppress(requests.ConnectionError, requests.Timeout):
			# The first request of a worker loads the app: slow on a busy machine.
			requests.get(f"{base_url}/api/method/ping", headers={"Host": site}, timeout=30)
			return
		time.sleep(0.2)
	raise RuntimeError(f"the web server did not answer within 120 seconds:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
	return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

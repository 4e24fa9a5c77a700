"""A real Frappe web server (gunicorn, as in production) on 127.0.0.1 for the tests and the benchmarks:
started from the bench's sites folder, waited for until it answers, stopped on exit; and the HTTP
client that calls it."""

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

START_TIMEOUT = 180  # the first request of each worker loads the app: slow on a busy machine


@contextlib.contextmanager
def gunicorn(
	*,
	site: str | None = None,
	app: str = "frappe.app:application",
	workers: int = 2,
	request_timeout: int = 120,
	cwd: str | Path | None = None,
	env: dict | None = None,
	log_path: Path | None = None,
) -> Iterator[str]:
	"""Serve `app` from the sites folder `cwd` (default: the current one); yields the base URL. `site`
	is the Host header that picks the site (None when the app serves one site whatever the host).
	Its output goes to `log_path`, whose tail is shown if it fails to start."""
	port = free_port()
	command = [
		str(Path(sys.executable).parent / "gunicorn"),
		"--bind", f"127.0.0.1:{port}",
		"--workers", str(workers),
		"--timeout", str(request_timeout),
		"--graceful-timeout", "5",
		app,
	]  # fmt: skip
	with contextlib.ExitStack() as stack:
		log = stack.enter_context(open(log_path, "wb")) if log_path else subprocess.DEVNULL
		process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
		stack.callback(stop, process)
		base_url = f"http://127.0.0.1:{port}"
		wait_until_serving(base_url, site, process, log_path)
		yield base_url


class Client(requests.Session):
	"""HTTP client for a site: relative URLs, the site's Host header, optional `token key:secret` auth."""

	def __init__(self, base_url: str, site: str, token: str | None = None, timeout: float = 30) -> None:
		super().__init__()
		self.base_url = base_url
		self.timeout = timeout
		self.headers["Host"] = site
		if token:
			self.headers["Authorization"] = f"token {token}"

	def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:
		kwargs.setdefault("timeout", self.timeout)
		return super().request(method, f"{self.base_url}{url}", *args, **kwargs)


def free_port() -> int:
	with socket.socket() as probe:
		probe.bind(("127.0.0.1", 0))
		return probe.getsockname()[1]


def wait_until_serving(
	base_url: str, site: str | None, process: subprocess.Popen, log_path: Path | None
) -> None:
	headers = {"Host": site} if site else {}
	deadline = time.monotonic() + START_TIMEOUT
	while time.monotonic() < deadline:
		if process.poll() is not None:
			raise RuntimeError(f"the web server exited with {process.returncode}{tail(log_path)}")
		with contextlib.suppress(requests.RequestException):
			requests.get(f"{base_url}/api/method/ping", headers=headers, timeout=30)
			return
		time.sleep(0.2)
	raise RuntimeError(f"the web server did not answer within {START_TIMEOUT} seconds{tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
	process.terminate()
	try:
		process.wait(timeout=15)
	except subprocess.TimeoutExpired:
		process.kill()
		process.wait()


def tail(log_path: Path | None, lines: int = 30) -> str:
	if not log_path:
		return ""
	return ":\n" + "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])

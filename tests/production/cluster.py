"""The hub as it runs in production, for the tests of this folder: gunicorn (2 workers), 2 RQ workers and
the scheduler, each a separate process on 127.0.0.1, with a redis-server of their own.

They run from a sites folder of their own that holds only the test site (links to its files), so that the
scheduler, which serves every site of its sites folder, schedules this site alone, and the workers
take only this site's jobs. Its common_site_config.json is the bench's, with the dedicated Redis for the
cache and the queues; the site's own site_config.json names that Redis too while the cluster runs, so
that any process opening the site (this test process included, see `use_redis`) uses the same cache and
queues. The dedicated Redis keeps nothing on disk (`--save "" --appendonly no`): stopping it loses
its queues and cache, as a crashed Redis does.

Every process is started in a process group of its own and stopped with it (an RQ worker forks a
work horse for each job), on exit and on failure, with bounded waits. While the cluster runs, a worker
or the scheduler that exits is started again, as a production bench's supervisor does.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

import frappe
from frappe.installer import update_site_config
from frappe.utils import background_jobs

from tests.remote_site import REPO
from tests.web_server import START_TIMEOUT, free_port, tail, wait_until_serving

REDIS_KEYS = ("redis_cache", "redis_queue")
QUEUES = "default,short,long"
STOP_TIMEOUT = 10


@dataclass
class Service:
	name: str
	process: subprocess.Popen
	log_path: Path

	def alive(self) -> bool:
		return self.process.poll() is None

	def stop(self) -> None:
		stop_group(self.process)

	def work_horses(self) -> list[psutil.Process]:
		"""The processes an RQ worker forked to run its current job."""
		with contextlib.suppress(psutil.NoSuchProcess):
			return psutil.Process(self.process.pid).children(recursive=True)
		return []


def stop_group(process: subprocess.Popen) -> None:
	"""SIGTERM to the process's group (it and its children), SIGKILL after STOP_TIMEOUT seconds."""
	if process.poll() is None:
		with contextlib.suppress(ProcessLookupError):
			os.killpg(process.pid, signal.SIGTERM)
		try:
			process.wait(timeout=STOP_TIMEOUT)
		except subprocess.TimeoutExpired:
			pass
	with contextlib.suppress(ProcessLookupError):
		os.killpg(process.pid, signal.SIGKILL)  # children left behind by a stopped worker
	with contextlib.suppress(subprocess.TimeoutExpired):
		process.wait(timeout=STOP_TIMEOUT)


class RedisServer:
	"""A redis-server of our own on a free port of 127.0.0.1; `stop()` and `start()` again on the same
	port (an outage)."""

	def __init__(self, log_dir: Path) -> None:
		self.port = free_port()
		self.log_path = log_dir / "redis.log"
		self.process: subprocess.Popen | None = None

	@property
	def url(self) -> str:
		return f"redis://127.0.0.1:{self.port}"

	def start(self) -> None:
		command = [
			"redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--daemonize", "no",
		]  # fmt: skip
		log = open(self.log_path, "ab")
		self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
		log.close()
		client = redis.Redis(port=self.port, socket_connect_timeout=1)
		deadline = time.monotonic() + 30
		while time.monotonic() < deadline:
			with contextlib.suppress(redis.RedisError):
				if client.ping():
					return
			if self.process.poll() is not None:
				break
			time.sleep(0.1)
		raise RuntimeError(f"redis-server on port {self.port} did not start{tail(self.log_path)}")

	def stop(self) -> None:
		if self.process is not None:
			stop_group(self.process)
			self.process = None


@dataclass
class Cluster:
	site: str
	sites_path: Path
	log_dir: Path
	redis: RedisServer
	base_url: str = ""
	web: Service | None = None
	workers: list[Service] = field(default_factory=list)
	scheduler: Service | None = None
	started: object = None  # when the services were started (the site's time)
	restarts: list[str] = field(default_factory=list)
	_supervising: threading.Event = field(default_factory=threading.Event)
	_supervisor: threading.Thread | None = None

	def env(self) -> dict:
		return {
			**os.environ,
			"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
			"INTEGRATION_HUB_SERVED_SITE": self.site,
		}

	def spawn(self, name: str, command: list[str]) -> Service:
		log_path = self.log_dir / f"{name}.log"
		with open(log_path, "ab") as log:
			process = subprocess.Popen(
				command,
				cwd=self.sites_path,
				env=self.env(),
				stdin=subprocess.DEVNULL,
				stdout=log,
				stderr=subprocess.STDOUT,
				start_new_session=True,
			)
		return Service(name, process, log_path)

	def frappe_command(self, name: str, *args: str) -> Service:
		return self.spawn(
			name, [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", self.site, *args]
		)

	def start_web(self) -> None:
		port = free_port()
		# tests/remote_wsgi serves the one site whatever the Host header, as `bench serve --site` does, so
		# that the hub can also reach itself as a remote Frappe site at http://127.0.0.1:PORT.
		self.web = self.spawn(
			"gunicorn",
			[
				str(Path(sys.executable).parent / "gunicorn"),
				"--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120",
				"--graceful-timeout", "5", "tests.remote_wsgi:application",
			],
		)  # fmt: skip
		self.base_url = f"http://127.0.0.1:{port}"
		wait_until_serving(self.base_url, self.site, self.web.process, self.web.log_path)

	def start_workers(self, count: int = 2) -> None:
		for _n in range(count):
			self.workers.append(
				self.frappe_command(f"worker-{len(self.workers)}", "worker", "--queue", QUEUES)
			)

	def start_scheduler(self) -> None:
		self.scheduler = self.frappe_command("scheduler", "schedule")

	def wait_for_workers(self, count: int = 2, timeout: float = START_TIMEOUT) -> None:
		"""Until `count` RQ workers of this bench are registered in our Redis."""
		from rq import Worker

		connection = redis.Redis.from_url(self.redis.url)
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			for service in self.workers:
				if not service.alive():
					raise RuntimeError(f"{service.name} exited{tail(service.log_path)}")
			with contextlib.suppress(redis.RedisError):
				if len(Worker.all(connection=connection)) >= count:
					return
			time.sleep(0.5)
		raise RuntimeError(f"{count} RQ workers did not start within {timeout} s")

	def supervise(self) -> None:
		"""Restart a worker or the scheduler that exits, as the supervisor of a production bench does
		(bench's supervisor.conf: autorestart=true); each restart is noted in `restarts`."""

		def watch():
			while not self._supervising.wait(1):
				for n, service in enumerate(self.workers):
					if not service.alive() and not self._supervising.is_set():
						self.restarts.append(f"{service.name} (exit {service.process.returncode})")
						self.workers[n] = self.frappe_command(
							f"worker-{n}.{len(self.restarts)}", "worker", "--queue", QUEUES
						)
				if (
					self.scheduler is not None
					and not self.scheduler.alive()
					and not self._supervising.is_set()
				):
					self.restarts.append(f"scheduler (exit {self.scheduler.process.returncode})")
					self.start_scheduler()

		self._supervisor = threading.Thread(target=watch, name="supervisor", daemon=True)
		self._supervisor.start()

	def check_running(self) -> None:
		for service in [self.web, self.scheduler, *self.workers]:
			if service is not None and not service.alive():
				raise RuntimeError(f"{service.name} exited{tail(service.log_path)}")

	def stop(self) -> None:
		self._supervising.set()
		if self._supervisor is not None:
			self._supervisor.join(10)
		for service in [self.scheduler, *self.workers, self.web]:
			if service is not None:
				service.stop()


def make_sites_folder(site: str, bench_sites: Path, target: Path, redis_url: str) -> None:
	"""A sites folder holding only `site`, the bench's apps and assets, and a common config
	pointing at our Redis."""
	target.mkdir(parents=True, exist_ok=True)
	(target.parent / "logs").mkdir(exist_ok=True)  # Frappe logs to the sites folder's ../logs
	# Frappe takes a link in a sites folder for an alias of another site, and schedules none: the site
	# is a folder of links to the site's files instead.
	(target / site).mkdir()
	for entry in (bench_sites / site).iterdir():
		(target / site / entry.name).symlink_to(entry)
	for name in ("apps.txt", "apps.json"):
		if (bench_sites / name).exists():
			shutil.copy(bench_sites / name, target / name)
	if (bench_sites / "assets").exists():
		(target / "assets").symlink_to(bench_sites / "assets")
	common = json.loads((bench_sites / "common_site_config.json").read_text())
	common.update({key: redis_url for key in (*REDIS_KEYS, "redis_socketio")})
	common.pop("default_site", None)
	(target / "common_site_config.json").write_text(json.dumps(common, indent=1))


@contextlib.contextmanager
def use_redis(url: str) -> Iterator[None]:
	"""Point the site (its site_config.json, so every process that opens it) and this process at `url`
	for the block; then back to the site's own values (usually none: the common config's)."""
	config_path = Path(frappe.local.site_path) / "site_config.json"
	own = {key: json.loads(config_path.read_text()).get(key) for key in REDIS_KEYS}
	_point_at({key: url for key in REDIS_KEYS})
	try:
		yield
	finally:
		_point_at(own)
		frappe.clear_cache()  # what was cached in the shared Redis before may have changed meanwhile


def _point_at(values: dict) -> None:
	for key, value in values.items():
		update_site_config(key, value if value else "None")  # "None" removes the key
	frappe.local.conf = frappe._dict(frappe.get_site_config())
	frappe.cache = None
	frappe.setup_redis_cache_connection()
	background_jobs._redis_queue_conn = None
	frappe.local.cache = {}


def set_scheduler(enabled: bool) -> None:
	frappe.db.set_single_value("System Settings", "enable_scheduler", int(enabled))


@contextlib.contextmanager
def running_cluster(site: str, bench_sites: Path) -> Iterator[Cluster]:
	"""Our Redis and sites folder, the site pointed at them; the caller starts the services, which are
	stopped before the site is pointed back."""
	log_dir = Path(tempfile.mkdtemp(prefix="ih-production-"))
	server = RedisServer(log_dir)
	cluster = Cluster(site, log_dir / "sites", log_dir, server)
	try:
		server.start()
		make_sites_folder(site, bench_sites, cluster.sites_path, server.url)
		with use_redis(server.url):
			try:
				yield cluster
			finally:
				cluster.stop()
	finally:
		server.stop()
		if os.environ.get("INTEGRATION_HUB_KEEP_LOGS") == "1":
			print(f"production logs kept in {log_dir}")
		else:
			shutil.rmtree(log_dir, ignore_errors=True)

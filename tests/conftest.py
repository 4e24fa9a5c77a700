"""Test harness: every test runs against a real Frappe v15 site on MariaDB and Redis.

`./run-tests` creates a throwaway site, installs the app and runs pytest from the bench's `sites`
folder with INTEGRATION_HUB_TEST_SITE naming the site. Each test runs inside one database
transaction that is rolled back afterwards; a `frappe.db.commit()` made by the code under test keeps
the work inside that transaction (its commit hooks still run, so jobs enqueued after commit are
enqueued), so nothing a test writes leaks into the next one. Tests that need data visible to another
connection (an HTTP server, a second worker) use the `committed` fixture, which really commits and
removes what it committed afterwards.

Schema changes (new DocTypes, custom fields) commit implicitly in MariaDB: make them in session
fixtures, never inside a test.
"""

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rq import Queue

import frappe
from frappe.database.database import Database
from frappe.utils.background_jobs import execute_job, get_queue_list, get_redis_conn

from integration_hub.documents.exposure import clear_exposure_cache
from integration_hub.events.outbox import delivery_job_started
from tests.fixtures_doctypes import create_test_doctypes
from tests.web_server import Client, gunicorn

ERPNEXT_TESTS = Path(__file__).parent / "erpnext"
# Outside tests/erpnext, the tests that need ERPNext as well: left out with it.
ERPNEXT_ONLY = (ERPNEXT_TESTS, Path(__file__).parent / "production" / "test_8_erpnext_concurrent_submits.py")
ERPNEXT_INSTALLED = os.environ.get("INTEGRATION_HUB_ERPNEXT") == "1"  # set by ./run-tests
_left_out: list[str] = []

TEST_SAVEPOINT = "integration_hub_test"
# Where a rollback inside a test goes back to: the test's start, or the start of an in-process API call.
_transaction_starts = [TEST_SAVEPOINT]
SITE_MANAGER = "site-manager@example.com"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
	"""tests/erpnext (and ERPNEXT_ONLY) need ERPNext on the test site: without it they are left out,
	and the run says so."""
	if collection_path in ERPNEXT_ONLY and not ERPNEXT_INSTALLED:
		site = os.environ.get("INTEGRATION_HUB_TEST_SITE")
		relative = collection_path.relative_to(Path(__file__).parent.parent)
		line = f"{relative} did not run: ERPNext is not installed on the test site {site}"
		if line not in _left_out:  # pytest may ask about one path more than once
			_left_out.append(line)
		return True
	return None


def pytest_terminal_summary(terminalreporter) -> None:
	for line in _left_out:
		terminalreporter.write_line(line, yellow=True, bold=True)


@pytest.fixture(scope="session", autouse=True)
def site() -> Iterator[str]:
	"""Connect to the test site once for the whole session, as Frappe's own test runner does."""
	name = os.environ.get("INTEGRATION_HUB_TEST_SITE")
	if not name:
		pytest.exit("INTEGRATION_HUB_TEST_SITE is not set: run the suite with ./run-tests", returncode=2)
	frappe.init(site=name, sites_path=os.getcwd())
	frappe.connect()
	frappe.flags.in_test = True
	frappe.set_user("Administrator")
	_ensure_a_site_manager()
	create_test_doctypes()
	yield name
	frappe.db.rollback()
	frappe.destroy()


def _ensure_a_site_manager() -> None:
	"""A real site has a human System Manager (the setup wizard makes one); Frappe refuses to delete
	users when none would remain, so the throwaway site gets one too."""
	if frappe.db.exists("User", SITE_MANAGER):
		return
	user = frappe.get_doc(
		{"doctype": "User", "email": SITE_MANAGER, "first_name": "Site Manager", "send_welcome_email": 0}
	)
	user.append("roles", {"role": "System Manager"})
	user.insert()
	frappe.db.commit()


def _real_commit() -> None:
	Database.commit(frappe.db)


def _real_rollback() -> None:
	Database.rollback(frappe.db)


@pytest.fixture(autouse=True)
def transaction(site: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
	"""Run the test in one transaction that is always rolled back, even if the code commits."""
	_real_rollback()
	frappe.db.sql(f"savepoint {TEST_SAVEPOINT}")

	def commit_inside_test() -> None:
		frappe.db.before_rollback.reset()
		frappe.db.after_rollback.reset()
		frappe.db.before_commit.run()
		frappe.db.after_commit.run()

	def rollback_inside_test(*, save_point: str | None = None) -> None:
		if save_point:
			return Database.rollback(frappe.db, save_point=save_point)
		frappe.db.before_commit.reset()
		frappe.db.after_commit.reset()
		frappe.db.before_rollback.run()
		frappe.db.sql(f"rollback to savepoint {_transaction_starts[-1]}")
		frappe.db.after_rollback.run()

	monkeypatch.setattr(frappe.db, "commit", commit_inside_test)
	monkeypatch.setattr(frappe.db, "rollback", rollback_inside_test)
	yield
	monkeypatch.undo()
	_real_rollback()
	frappe.local.flags.pop("integration_hub_field_policies", None)
	clear_exposure_cache()
	frappe.set_user("Administrator")


class Committed:
	"""Really commit test data (for other connections to see it) and delete it after the test."""

	def __init__(self) -> None:
		self._documents: list[tuple[str, str]] = []
		self._cleanups: list[Callable[[], None]] = []

	def track(self, doc: "frappe.model.document.Document") -> "frappe.model.document.Document":
		self._documents.append((doc.doctype, doc.name))
		return doc

	def on_cleanup(self, cleanup: Callable[[], None]) -> None:
		self._cleanups.append(cleanup)

	def commit(self) -> None:
		_real_commit()
		frappe.db.sql(f"savepoint {TEST_SAVEPOINT}")

	def cleanup(self) -> None:
		_real_rollback()
		frappe.set_user("Administrator")
		for doctype, name in reversed(self._documents):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True, ignore_missing=True)
		for cleanup in reversed(self._cleanups):
			cleanup()
		_real_commit()


@pytest.fixture
def committed(transaction: None) -> Iterator[Committed]:
	data = Committed()
	yield data
	data.cleanup()


@pytest.fixture
def api(transaction: None) -> Callable[..., tuple[int, dict]]:
	"""Call an `api.v1` endpoint in-process as the session user, as Frappe's handler would (argument
	type validation included); return (HTTP status, JSON body). A rollback inside the call goes back to
	the call's start, like a request's own rollback, and keeps the test's data."""
	from werkzeug.wrappers import Response

	from integration_hub.api import v1

	def call(endpoint: str, /, **arguments) -> tuple[int, dict]:
		savepoint = f"integration_hub_api_call_{len(_transaction_starts)}"
		frappe.db.sql(f"savepoint {savepoint}")
		_transaction_starts.append(savepoint)
		try:
			result = frappe.call(getattr(v1, endpoint), **arguments)
		finally:
			_transaction_starts.pop()
		if isinstance(result, Response):
			body = result.get_data(as_text=True)
			return result.status_code, json.loads(body) if body else None  # a 304 has no body
		return 200, json.loads(frappe.as_json({"message": result}))

	return call


@pytest.fixture
def as_user() -> Callable[[str], contextlib.AbstractContextManager]:
	"""`with as_user("someone@example.com"):` runs the block as that user, then restores the caller."""

	@contextlib.contextmanager
	def switch(user: str) -> Iterator[None]:
		previous = frappe.session.user
		frappe.set_user(user)
		try:
			yield
		finally:
			frappe.set_user(previous)

	return switch


@pytest.fixture
def run_background_jobs(site: str) -> Callable[[], int]:
	"""Run this site's jobs waiting in the real Redis queues, inline, inside the test's transaction.

	Jobs go through Frappe's own `execute_job`, as a worker would run them, minus the fork and the
	new connection (which could not see the test's uncommitted data). Returns how many jobs ran.
	"""

	while (stale := _next_job_of_site(site)) is not None:  # queued before this test (e.g. by migrate)
		stale.delete()
	# A dropped delivery job, or one a worker process of an earlier test has not started, must not
	# swallow this test's trigger: commits queue a delivery job only while none is marked as queued.
	delivery_job_started()

	def run() -> int:
		ran = 0
		while True:
			job = _next_job_of_site(site)
			if job is None:
				return ran
			job_kwargs = dict(job.kwargs)
			job_kwargs["is_async"] = False
			try:
				execute_job(**job_kwargs)
			finally:
				job.delete()
			ran += 1

	return run


def _next_job_of_site(site: str):
	connection = get_redis_conn()
	for queue_name in get_queue_list(build_queue_name=True):
		queue = Queue(queue_name, connection=connection)
		for job in queue.get_jobs():
			if job.kwargs.get("site") == site:
				queue.remove(job)
				return job
	return None


@pytest.fixture(scope="session")
def server(site: str) -> Iterator[str]:
	"""A real Frappe web server (gunicorn, as in production) for this site on 127.0.0.1."""
	with gunicorn(site=site) as base_url:
		yield base_url


@pytest.fixture
def http(server: str, site: str) -> Callable[..., Client]:
	"""`http()` is a Guest client; `http(token)` authenticates with Frappe's `token key:secret`."""
	clients: list[Client] = []

	def make(token: str | None = None) -> Client:
		client = Client(server, site, token)
		clients.append(client)
		return client

	yield make
	for client in clients:
		client.close()

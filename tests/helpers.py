"""Helpers for tests that look at the database (from outside the test's own transaction, or at the
statements the code under test runs), and a raw JSON-RPC call of the MCP endpoint."""

import contextlib
from collections.abc import Iterator

import frappe


def read_committed(query: str, values: tuple | dict = ()) -> list[tuple]:
	"""Run a read on a fresh connection of its own: it sees what other connections committed, and
	holds no lock that the code under test (a server, a worker) could wait on."""
	with connection_of_its_own() as db:
		return db.sql(query, values, as_list=True)


@contextlib.contextmanager
def connection_of_its_own() -> Iterator["frappe.database.database.Database"]:
	"""A new connection to the site's database, closed (and its transaction rolled back) afterwards:
	another client, as far as MariaDB can tell."""
	from frappe.database import get_db

	conf = frappe.local.conf
	db = get_db(
		host=conf.db_host,
		port=conf.db_port,
		user=conf.db_user or conf.db_name,
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)
	try:
		db.connect()
		yield db
	finally:
		db.close()


@contextlib.contextmanager
def statements_run() -> Iterator[list[str]]:
	"""The SQL statements run inside the block, lower-cased."""
	statements: list[str] = []
	real_sql = frappe.db.sql

	def recording_sql(query, *args, **kwargs):
		statements.append(str(query).strip().lower())
		return real_sql(query, *args, **kwargs)

	frappe.db.sql = recording_sql
	try:
		yield statements
	finally:
		del frappe.db.sql  # the instance attribute: back to the class's method


def make_site_dormant(monkeypatch, days: int = 10) -> None:
	"""A site that Frappe's scheduler calls dormant, whichever rule this release has: no activity for
	`days` (its latest Activity Log, the rule up to about 15.50; its users' `last_active`, the rule
	after). Later releases apply dormancy only on Frappe Cloud, which they tell from the site's name:
	that one check is patched, the site's name cannot change. Developer mode is never dormant."""
	from datetime import timedelta

	from frappe.utils import now_datetime

	monkeypatch.setitem(frappe.local.conf, "developer_mode", 0)
	long_ago = now_datetime() - timedelta(days=days)
	frappe.db.sql("update `tabActivity Log` set modified = %s, creation = %s", (long_ago, long_ago))
	frappe.db.sql("update `tabUser` set last_active = %s where last_active is not null", (long_ago,))
	with contextlib.suppress(ImportError):  # releases that have the Frappe Cloud rule
		from frappe.utils import frappecloud

		monkeypatch.setattr(frappecloud, "on_frappecloud", lambda: True)
	from integration_hub.operations.activity import forget_dormancy

	forget_dormancy()  # the answer later releases keep for an hour


def assert_activity_recorded(subject: str, user: str) -> None:
	"""The hub recorded its activity, as committed, where both of Frappe's dormancy rules look."""
	logged = read_committed("select subject from `tabActivity Log` order by creation desc limit 1")
	assert logged and subject in logged[0][0]
	active = read_committed("select last_active from `tabUser` where name = %s", (user,))
	assert active and active[0][0] and (frappe.utils.now_datetime() - active[0][0]).total_seconds() < 600
	frappe.db.rollback()  # the test's snapshot sees what the server committed


MCP = "/api/method/integration_hub.api.mcp"


def mcp_result(client, method: str, params: dict) -> dict:
	"""One JSON-RPC request to the MCP endpoint over `client` (2025-06-18, no session): its `result`."""
	response = client.post(
		MCP,
		json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
		headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
	)
	assert response.status_code == 200, response.text
	body = response.json()
	assert "result" in body, body
	return body["result"]

"""Fixtures of the production suite: the running cluster (tests/production/cluster.py), the DocTypes,
resources, users and keys its scenarios write through, and the figures each scenario states.

Everything here is really committed (other processes must see it) and removed when the folder's last
test has run. The folder runs after the rest of the suite, so that its committed resources and the
site's Redis, pointed at the cluster's own while it runs, never meet another test.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import frappe

from integration_hub.security.roles import INTEGRATION_MANAGER
from tests.factories import issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import read_committed
from tests.production.cluster import Cluster, running_cluster, set_scheduler
from tests.production.support import COPY, EDITOR, FIGURES, NOTE, OPERATOR, SOURCE, Hub, wait_until

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(session, config, items):
	items.sort(key=lambda item: Path(str(item.fspath)).resolve().is_relative_to(HERE))  # stable: last


def pytest_terminal_summary(terminalreporter):
	if FIGURES:
		terminalreporter.section("production figures")
		for line in FIGURES:
			terminalreporter.write_line(line)


@pytest.fixture(scope="package")
def cluster(site: str) -> Iterator[Cluster]:
	was_enabled = frappe.db.get_single_value("System Settings", "enable_scheduler")
	with running_cluster(site, Path.cwd()) as running:
		set_scheduler(True)  # a new site's scheduler is off; the hub's sweeps need it
		frappe.db.commit()
		try:
			running.started = frappe.utils.now_datetime()
			running.start_web()
			running.start_workers(2)
			running.start_scheduler()
			running.wait_for_workers(2)
			running.supervise()
			yield running
		finally:
			frappe.db.rollback()
			set_scheduler(bool(was_enabled))
			frappe.db.commit()


@pytest.fixture(scope="package")
def sweeping(cluster: Cluster) -> None:
	"""The scheduler really runs the hub's every-minute sweep for the site (it is not dormant, disabled
	or paused): the sweep has run since the cluster started."""
	started = frappe.utils.now_datetime()
	method = "integration_hub.events.jobs.sweep"

	def swept() -> bool:
		rows = read_committed(
			"select last_execution from `tabScheduled Job Type` where method = %s", (method,)
		)
		return bool(rows and rows[0][0] and rows[0][0] >= cluster.started)

	if not wait_until(swept, 180, interval=2):
		raise AssertionError(f"the scheduler did not run {method} within 3 minutes (since {started})")


@pytest.fixture(scope="package")
def hub(cluster: Cluster) -> Iterator[Hub]:
	frappe.db.rollback()
	created: list[tuple[str, str]] = []
	try:
		_production_doctypes(created)
		for doctype, key in ((ITEM, "code"), (NOTE, "title"), (SOURCE, "code")):
			created.append(("Hub Resource", _resource(doctype, key)))
		editor = _user(EDITOR, [EDITOR_ROLE], created)
		operator = _user(OPERATOR, ["System Manager", INTEGRATION_MANAGER], created)
		key = frappe.get_doc(
			{
				"doctype": "Hub API Key",
				"key_name": "Production suite",
				"user": editor.name,
				"rate_limit_per_minute": 100_000,  # a busy integration's key; the default is 600
				"scopes": [
					{"resource": doctype, **dict.fromkeys(_SCOPES, 1)} for doctype in (ITEM, NOTE, SOURCE)
				],
			}
		).insert()
		created.append(("Hub API Key", key.name))
		operator_token = issue_api_token(operator)
		frappe.db.commit()
		yield Hub(cluster, key.flags.plain_token, operator_token)
	finally:
		frappe.db.rollback()
		for doctype in (ITEM, NOTE, SOURCE, COPY):
			frappe.db.delete("Hub Change", {"ref_doctype": doctype})
		for doctype, name in reversed(created):
			with contextlib.suppress(frappe.DoesNotExistError):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
			if doctype == "DocType":  # Frappe keeps a deleted DocType's table
				frappe.db.sql_ddl(f"drop table if exists `tab{name}`")
		frappe.db.commit()


_SCOPES = ("allow_read", "allow_create", "allow_update", "allow_delete", "allow_changes")


def _resource(doctype: str, key: str) -> str:
	return (
		frappe.get_doc(
			{
				"doctype": "Hub Resource",
				"document_type": doctype,
				"enabled": 1,
				"allow_read": 1,
				"allow_create": 1,
				"allow_update": 1,
				"allow_delete": 1,
				"key_fields": key,
				"max_page_size": 1000,
				"max_batch_size": 1000,
			}
		)
		.insert()
		.name
	)


def _user(email: str, roles: list[str], created: list) -> "frappe.model.document.Document":
	if frappe.db.exists("User", email):
		frappe.delete_doc("User", email, force=True, ignore_permissions=True)
	user = frappe.get_doc(
		{"doctype": "User", "email": email, "first_name": email.split("@")[0], "send_welcome_email": 0}
	)
	for role in roles:
		user.append("roles", {"role": role})
	user.insert()
	created.append(("User", user.name))
	return user


def _production_doctypes(created: list) -> None:
	"""The DocTypes only this suite writes (their DDL commits implicitly)."""
	permissions = [
		{"role": role, "read": 1, "write": 1, "create": 1, "delete": 1}
		for role in ("System Manager", EDITOR_ROLE)
	]
	for name, fields in (
		(NOTE, [("title", 0), ("qty", None)]),
		(SOURCE, [("code", 1), ("title", 0), ("qty", None)]),
		(COPY, [("code", 0), ("title", 0), ("qty", None)]),
	):
		if frappe.db.exists("DocType", name):
			frappe.delete_doc("DocType", name, force=True)
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": name,
				"module": "Integration Hub",
				"custom": 1,
				"autoname": "hash",
				"fields": [
					{"fieldname": fieldname, "label": fieldname.title(), "fieldtype": "Int"}
					if unique is None
					else {
						"fieldname": fieldname,
						"label": fieldname.title(),
						"fieldtype": "Data",
						"unique": unique,
						"in_list_view": 1,
					}
					for fieldname, unique in fields
				],
				"permissions": permissions,
			}
		).insert()
		created.append(("DocType", name))
	frappe.db.commit()

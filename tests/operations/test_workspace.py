"""The Integration Hub workspace, its Number Cards and Dashboard Charts: standard records shipped as
JSON in the module, present after install and put back by migrate, each computing on a site with data
through the functions the Desk calls."""

import glob
import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest

import frappe
from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as chart_data
from frappe.desk.doctype.number_card.number_card import get_result
from frappe.model.sync import sync_for
from frappe.modules import get_module_path
from frappe.utils import now_datetime
from frappe.utils.dashboard import sync_dashboards

from integration_hub.events import outbox
from tests.factories import HubSubscriptionFactory, HubSyncJobFactory, UserFactory
from tests.helpers import read_committed

MODULE = "Integration Hub"
APP = "integration_hub"
WORKSPACE = "Integration Hub"
KINDS = {
	"Number Card": "number_card",
	"Dashboard Chart": "dashboard_chart",
	"Dashboard Chart Source": "dashboard_chart_source",
	"Workspace": "workspace",
}


def shipped(doctype: str) -> set[str]:
	"""Names of the records of one kind shipped as JSON in the module folder."""
	pattern = os.path.join(get_module_path(MODULE), KINDS[doctype], "*", "*.json")
	return {json.load(open(path))["name"] for path in glob.glob(pattern)}


def migrate_module() -> None:
	"""What `bench migrate` does for the app's module records (install runs the same two)."""
	sync_for(APP)
	sync_dashboards(APP)


def hub_doctypes() -> set[str]:
	return set(frappe.get_all("DocType", filters={"module": MODULE, "istable": 0, "custom": 0}, pluck="name"))


def source_method(source: str) -> str:
	"""The Python method a custom chart source's JS names: what the Desk's chart widget calls."""
	path = os.path.join(get_module_path(MODULE), "dashboard_chart_source", frappe.scrub(source))
	script = open(os.path.join(path, frappe.scrub(source) + ".js")).read()
	return re.search(r'method:\s*"([\w.]+)"', script).group(1)


def card_value(name: str):
	card = frappe.get_doc("Number Card", name)
	if card.type == "Custom":
		result = frappe.call(card.method, filters=[])
		return result["value"]
	return get_result(card.as_json(), card.filters_json)


def chart(name: str) -> dict:
	doc = frappe.get_doc("Dashboard Chart", name)
	if doc.chart_type == "Custom":
		return frappe.call(source_method(doc.source), chart_name=name, filters=[])
	return chart_data(chart_name=name)


def totals(data: dict) -> dict[str, int]:
	return {dataset["name"]: sum(dataset["values"]) for dataset in data["datasets"]}


def test_the_shipped_records_are_installed_standard_and_in_the_module(site):
	expected = {doctype: shipped(doctype) for doctype in KINDS}
	assert len(expected["Number Card"]) == 5 and len(expected["Dashboard Chart"]) == 2
	assert expected["Workspace"] == {WORKSPACE}
	for doctype, names in expected.items():
		for name in names:
			doc = frappe.get_doc(doctype, name)
			assert doc.module == MODULE, (doctype, name)
			if doctype in ("Number Card", "Dashboard Chart"):
				assert doc.is_standard and doc.is_public, (doctype, name)


def test_the_workspace_links_every_hub_doctype_card_and_chart(site):
	workspace = frappe.get_doc("Workspace", WORKSPACE)
	assert workspace.public and {row.role for row in workspace.roles} == {
		"Integration Manager",
		"System Manager",
	}
	shortcuts = {row.link_to for row in workspace.shortcuts if row.type == "DocType"}
	assert hub_doctypes() <= shortcuts, hub_doctypes() - shortcuts
	assert all(frappe.db.exists("DocType", name) for name in shortcuts)
	assert {row.number_card_name for row in workspace.number_cards} == shipped("Number Card")
	assert {row.chart_name for row in workspace.charts} == shipped("Dashboard Chart")
	blocks = json.loads(workspace.content)
	shortcut_labels = {row.label for row in workspace.shortcuts}
	for block in blocks:
		data = block["data"]
		if block["type"] == "shortcut":
			assert data["shortcut_name"] in shortcut_labels
		elif block["type"] == "number_card":
			assert frappe.db.exists("Number Card", data["number_card_name"])
		elif block["type"] == "chart":
			assert frappe.db.exists("Dashboard Chart", data["chart_name"])
	assert {b["type"] for b in blocks} >= {"shortcut", "number_card", "chart"}


def delete_shipped_records() -> None:
	"""Delete the records and their child rows (migrate inserts the rows again with a record that is
	missing, next to any left behind)."""
	for doctype in ("Number Card", "Dashboard Chart", "Dashboard Chart Source", "Workspace"):
		tables = [df.options for df in frappe.get_meta(doctype).get_table_fields()]
		for name in shipped(doctype):
			for table in tables:
				frappe.db.delete(table, {"parent": name, "parenttype": doctype})
			frappe.db.delete(doctype, {"name": name})


def child_rows(doctype: str, name: str) -> dict[str, int]:
	return {
		df.fieldname: len(frappe.get_doc(doctype, name).get(df.fieldname))
		for df in frappe.get_meta(doctype).get_table_fields()
	}


def committed_row(doctype: str, name: str) -> bool:
	return bool(read_committed(f"select name from `tab{doctype}` where name = %s", (name,)))


def test_bench_migrate_puts_back_deleted_records(site, committed):
	"""A real `bench migrate` in its own process, on the site with the records deleted and committed."""
	installed_rows = child_rows("Workspace", WORKSPACE)
	delete_shipped_records()
	committed.on_cleanup(migrate_module)  # whatever happens below, leave the site as installed
	committed.commit()  # a real commit: from here this connection holds no lock migrate could wait on
	assert not committed_row("Workspace", WORKSPACE)

	migrate = subprocess.run(
		[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", site, "migrate"],
		cwd=frappe.utils.get_bench_path() + "/sites",
		capture_output=True,
		text=True,
		timeout=600,
		stdin=subprocess.DEVNULL,
	)

	assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
	missing = [
		(doctype, name) for doctype in KINDS for name in shipped(doctype) if not committed_row(doctype, name)
	]
	assert not missing, f"not put back by migrate: {missing}"
	shortcuts = read_committed("select link_to from `tabWorkspace Shortcut` where parent = %s", (WORKSPACE,))
	assert hub_doctypes() <= {link_to for (link_to,) in shortcuts}
	assert child_rows("Workspace", WORKSPACE) == installed_rows, "the workspace's rows, each once"


def test_the_dashboard_sync_run_by_migrate_puts_back_deleted_records(site):
	installed_rows = child_rows("Workspace", WORKSPACE)
	delete_shipped_records()
	assert not frappe.db.exists("Workspace", WORKSPACE)

	migrate_module()
	assert child_rows("Workspace", WORKSPACE) == installed_rows

	for doctype in KINDS:
		for name in shipped(doctype):
			assert frappe.db.exists(doctype, name), (doctype, name)
	workspace = frappe.get_doc("Workspace", WORKSPACE)
	assert hub_doctypes() <= {row.link_to for row in workspace.shortcuts}


@pytest.fixture
def hub_data():
	"""Deliveries in each state and sync runs in each state, all from now."""
	subscription = HubSubscriptionFactory().name
	now = now_datetime()
	for status, extra in (
		("Pending", {}),
		("Failed", {}),
		("Dead", {}),
		("Dead", {}),
		("Succeeded", {"completed_at": now}),
		("Succeeded", {"completed_at": now - timedelta(days=3)}),  # not today
	):
		number = outbox.write_test_event(subscription)
		frappe.db.set_value("Hub Delivery", number, {"status": status, **extra})
	job = HubSyncJobFactory().name
	for status, started in (
		("Failed", now - timedelta(hours=1)),
		("Failed", now - timedelta(days=2)),  # failed, but not in the last 24 hours
		("Succeeded", now - timedelta(hours=1)),
		("Partial", now - timedelta(minutes=5)),
	):
		frappe.get_doc(
			{
				"doctype": "Hub Sync Run",
				"job": job,
				"status": status,
				"started": started,
				"run_as": "Administrator",
			}
		).insert()
	off = HubSubscriptionFactory().name
	frappe.db.set_value("Hub Subscription", off, "status", "Disabled")


def test_every_number_card_computes_and_counts_what_it_says(site, request):
	before = {name: card_value(name) for name in shipped("Number Card")}
	request.getfixturevalue("hub_data")
	after = {name: card_value(name) for name in shipped("Number Card")}

	assert {name: after[name] - before[name] for name in after} == {
		"Hub Pending Deliveries": 2,
		"Hub Dead Deliveries": 2,
		"Hub Deliveries Today": 1,
		"Hub Failed Sync Runs Last 24h": 1,
		"Hub Disabled Subscriptions": 1,
	}


def test_every_dashboard_chart_computes_by_status(site, request):
	before = {name: totals(chart(name)) for name in shipped("Dashboard Chart")}
	request.getfixturevalue("hub_data")
	after = {name: chart(name) for name in shipped("Dashboard Chart")}

	hourly = after["Hub Deliveries per Hour"]
	assert len(hourly["labels"]) == 24 and all(len(d["values"]) == 24 for d in hourly["datasets"])
	grown = {
		name: {status: totals(data)[status] - before[name].get(status, 0) for status in totals(data)}
		for name, data in after.items()
	}
	assert grown["Hub Deliveries per Hour"] == {"Succeeded": 2, "Pending": 1, "Failed": 1, "Dead": 2}
	assert grown["Hub Sync Runs per Day"] == {"Succeeded": 1, "Partial": 1, "Failed": 2, "Running": 0}
	assert len(after["Hub Sync Runs per Day"]["labels"]) == 14


def test_chart_and_card_methods_refuse_users_who_may_not_read_the_data(site, as_user):
	methods = [source_method(source) for source in shipped("Dashboard Chart Source")]
	methods += [frappe.db.get_value("Number Card", name, "method") for name in shipped("Number Card")]
	methods = [method for method in methods if method]
	assert len(methods) == 3
	with as_user(UserFactory(roles=[]).name):
		for method in methods:
			with pytest.raises(frappe.PermissionError):
				frappe.call(method)

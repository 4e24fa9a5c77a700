"""Curated reports (Hub Report), on Frappe's own Script Reports (the same on every v15 release the hub
supports): filters read from the report's definition and checked, the Desk's report permissions, typed
columns and rows as objects from a report that answers lists, paging, CSV, and a key's report scopes
over HTTP and MCP. (ERPNext's Stock Balance and Accounts Receivable: tests/erpnext.)"""

import csv
import io

import pytest

import frappe

from integration_hub.exceptions import NotRunnable
from tests.conftest import Committed
from tests.factories import HubAPIKeyFactory, HubReportFactory, HubResourceFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import mcp_result

API = "/api/method/integration_hub.api.v1"
PERMITTED_DOCUMENTS = "Permitted Documents For User"  # filters: user, doctype (required), show_permissions


def _todos(count: int) -> list[str]:
	return [
		frappe.get_doc({"doctype": "ToDo", "description": f"Report row {n} {frappe.generate_hash(length=6)}"})
		.insert()
		.name
		for n in range(count)
	]


def test_only_query_and_script_reports_can_be_exposed():
	report_builder = frappe.get_doc(
		{
			"doctype": "Report",
			"report_name": f"Hub RB {frappe.generate_hash(length=6)}",
			"ref_doctype": "ToDo",
			"report_type": "Report Builder",
			"is_standard": "No",
		}
	).insert()
	with pytest.raises(NotRunnable):
		HubReportFactory(report_name="anything", report=report_builder.name)
	with pytest.raises(frappe.LinkValidationError):
		HubReportFactory(report_name="anything", report="No Such Report")
	with pytest.raises(NotRunnable):
		HubReportFactory(report_name="To Do!", report="ToDo")


def test_filters_are_read_from_the_reports_definition():
	report = HubReportFactory(report_name="permitted_documents", report=PERMITTED_DOCUMENTS)
	assert [(f.fieldname, f.label, f.fieldtype, f.options, f.required) for f in report.filters] == [
		("user", "User", "Link", "User", 1),
		("doctype", "DocType", "Link", "DocType", 1),
		("show_permissions", "Show Permissions", "Check", "", 0),
	]


def test_a_report_runs_with_its_filters_checked_and_its_permissions(api, as_user):
	HubReportFactory(report_name="permitted_documents", report=PERMITTED_DOCUMENTS)
	status, body = api("run_report", report="permitted_documents", filters={"colour": "red"})
	assert status == 400, body
	assert {e["pointer"]: e["detail"] for e in body["errors"]} == {
		"/filters/colour": "not a filter of this report",
		"/filters/user": "required",
		"/filters/doctype": "required",
	}
	todo = _todos(1)[0]
	status, body = api(
		"run_report",
		report="permitted_documents",
		filters={"user": "Administrator", "doctype": "ToDo"},
		limit=1000,
	)
	assert status == 200, body
	page = body["message"]
	assert page["columns"][0] == {
		"fieldname": "name",
		"label": "Name",
		"fieldtype": "Link",
		"options": "ToDo",
	}
	assert todo in [row["name"] for row in page["rows"]]

	with as_user(UserFactory(roles=[EDITOR_ROLE]).name):  # not a System Manager: the report's roles
		status, body = api(
			"run_report", report="permitted_documents", filters={"user": "Administrator", "doctype": "ToDo"}
		)
	assert (status, body["code"]) == (403, "PERMISSION_DENIED"), body
	status, body = api("run_report", report="no_such_report")
	assert (status, body["code"]) == (404, "REPORT_NOT_EXPOSED")


def test_rows_are_objects_of_typed_columns_in_pages_and_as_csv(api):
	HubReportFactory(
		report_name="todo", report="ToDo"
	)  # its rows are lists, its columns "Label:Type/Options"
	made = set(_todos(5))
	seen, cursor, pages = [], None, 0
	while True:
		status, body = api("run_report", report="todo", limit=2, cursor=cursor)
		assert status == 200, body
		page = body["message"]
		assert len(page["rows"]) <= 2
		seen += [row["id"] for row in page["rows"]]
		pages += 1
		cursor = page["next_cursor"]
		if not page["has_more"]:
			break
	assert made <= set(seen) and len(seen) == len(set(seen))
	assert pages == -(-len(seen) // 2)
	columns = page["columns"]
	assert columns[0] == {"fieldname": "id", "label": "ID", "fieldtype": "Link", "options": "ToDo"}
	assert columns[2]["fieldtype"] == "Date"

	first = api("run_report", report="todo", limit=2)[1]["message"]
	status, body = api(
		"run_report", report="todo", limit=2, cursor=first["next_cursor"], filters={"other": 1}
	)
	assert (status, body["code"]) == (400, "INVALID_CURSOR"), body

	from integration_hub.api import v1

	response = v1.run_report(report="todo", limit=1000, format="csv")
	assert response.mimetype == "text/csv"
	rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
	assert rows[0] == [c["fieldname"] for c in columns]
	assert made <= {row[0] for row in rows[1:]}


def test_a_key_runs_only_the_reports_it_lists_over_http_and_mcp(http):
	committed = Committed()
	try:
		committed.track(HubReportFactory(report_name="todo", report="ToDo"))
		committed.track(HubResourceFactory())
		user = committed.track(UserFactory(roles=[EDITOR_ROLE, "System Manager"]))
		scopes = [{"resource": ITEM, "allow_read": 1}]
		listed = committed.track(HubAPIKeyFactory(user=user.name, scopes=scopes, reports=["todo"]))
		unlisted = committed.track(HubAPIKeyFactory(user=user.name, scopes=scopes))
		committed.commit()
		client, other = http(), http()
		client.headers["Authorization"] = f"Bearer {listed.flags.plain_token}"
		other.headers["Authorization"] = f"Bearer {unlisted.flags.plain_token}"

		answer = client.get(f"{API}.run_report", params={"report": "todo", "limit": 5})
		assert answer.status_code == 200, answer.text
		assert answer.json()["message"]["columns"][0]["fieldname"] == "id"
		csv_answer = client.get(f"{API}.run_report", params={"report": "todo", "format": "csv"})
		assert (csv_answer.status_code, csv_answer.headers["Content-Type"][:8]) == (200, "text/csv")
		refused = other.get(f"{API}.run_report", params={"report": "todo"})
		assert (refused.status_code, refused.json()["code"]) == (403, "PERMISSION_DENIED"), refused.text

		tools = {tool["name"]: tool for tool in mcp_result(client, "tools/list", {})["tools"]}
		assert tools["run_report"]["annotations"]["readOnlyHint"] is True
		assert "run_report" not in {t["name"] for t in mcp_result(other, "tools/list", {})["tools"]}
		described = mcp_result(
			client, "tools/call", {"name": "describe_resource", "arguments": {"report": "todo"}}
		)["structuredContent"]
		assert (described["report"], described["title"]) == ("todo", "ToDo")
		arguments = {"report": "todo", "filters": {}, "limit": 3}
		result = mcp_result(client, "tools/call", {"name": "run_report", "arguments": arguments})
		assert result["isError"] is False, result
		assert result["structuredContent"]["columns"][0]["fieldname"] == "id"
	finally:
		committed.cleanup()

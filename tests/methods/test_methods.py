"""Curated methods (Hub Method): which whitelisted methods may be exposed, arguments read from the
signature and checked before the call, the call as the caller, methods that only read, and a key's
method scopes over HTTP and MCP. (Mappers that return a new document: tests/erpnext/test_methods.py.)"""

import pytest

import frappe

from integration_hub.exceptions import NotCallable
from integration_hub.methods.catalog import clear_methods_cache
from tests.conftest import Committed
from tests.factories import HubAPIKeyFactory, HubMethodFactory, HubResourceFactory, ItemFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import mcp_result
from tests.methods.conftest import DEFAULT_ADDRESS, MARK_NOTE_SEEN, SHARED_WITH

API = "/api/method/integration_hub.api.v1"


@pytest.mark.parametrize(
	"path",
	[
		"frappe.client.get_list",
		"frappe.client.submit",
		"frappe.handler.run_doc_method",
		"frappe.desk.reportview.get",
		"frappe.desk.query_report.run",
		"frappe.desk.doctype.bulk_update.bulk_update.submit_cancel_or_update_docs",
		"integration_hub.api.v1.upsert",
		"frappe.geo.country_info.get_country_timezone_info",  # open to guests
		"frappe.contacts.doctype.address.address.get_address_display_list",  # not whitelisted
		"frappe.contacts.doctype.address.address.no_such_method",
		"tests.conftest.site",  # not an installed app's
		"not a path",
	],
)
def test_methods_around_the_curated_api_cannot_be_exposed(path):
	with pytest.raises(NotCallable):
		HubMethodFactory(method_name="anything", method_path=path)
	assert not frappe.db.exists("Hub Method", "anything")


def test_a_public_name_is_a_plain_identifier():
	with pytest.raises(NotCallable):
		HubMethodFactory(method_name="Default Address!", method_path=DEFAULT_ADDRESS)


def test_arguments_come_from_the_signature(expose_method, api):
	method = expose_method("default_address", DEFAULT_ADDRESS)
	assert method.arguments == "doctype: string (required)\nname: string | null (required)\nsort_key: string"
	assert method.description == "Returns default Address name for the given doctype, name"

	status, body = api("openapi")
	assert status == 200, body
	content = body["message"]["paths"][f"{API}.call_method"]["post"]["requestBody"]["content"]
	(schema,) = [s for s in content["application/json"]["schema"]["oneOf"] if s["title"] == "default_address"]
	assert schema["properties"]["method"] == {"const": "default_address"}
	assert schema["properties"]["args"]["properties"] == {
		"doctype": {"type": "string"},
		"name": {"type": ["string", "null"]},
		"sort_key": {"type": "string", "default": "is_primary_address"},
	}
	assert schema["properties"]["args"]["required"] == ["doctype", "name"]
	assert "save" not in schema["properties"]  # it returns no new document


def test_a_call_checks_its_arguments_first_and_runs_as_the_caller(expose_method, api, as_user):
	expose_method("shared_with", SHARED_WITH)
	item = ItemFactory()
	frappe.share.add(ITEM, item.name, "Guest", read=1)
	status, body = api("call_method", method="shared_with", args={"doctype": ITEM, "name": item.name})
	assert status == 200, body
	assert [row["user"] for row in body["message"]["result"]] == ["Guest"]
	with as_user(UserFactory(roles=["Blogger"]).name):  # may not read the item: the method says none
		status, body = api("call_method", method="shared_with", args={"doctype": ITEM, "name": item.name})
	assert (status, body["message"]["result"]) == (200, [])

	status, body = api("call_method", method="shared_with", args={"doctype": 5, "colour": "red"})
	assert status == 400, body
	assert {e["pointer"]: e["detail"] for e in body["errors"]} == {
		"/args/doctype": "must be string",
		"/args/colour": "not an argument of this method",
		"/args/name": "required",
	}
	status, body = api("call_method", method="no_such", args={})
	assert (status, body["code"]) == (404, "METHOD_NOT_EXPOSED")
	frappe.db.set_value("Hub Method", "shared_with", "enabled", 0)
	clear_methods_cache()
	status, body = api("call_method", method="shared_with", args={"doctype": ITEM, "name": item.name})
	assert (status, body["code"]) == (404, "METHOD_NOT_EXPOSED")


def test_permission_switches_are_never_taken_from_a_caller(expose_method, api):
	expose_method("seen", MARK_NOTE_SEEN)
	note = _note()
	status, body = api("call_method", method="seen", args={"note": note.name, "ignore_permissions": True})
	assert status == 400, body
	assert body["errors"] == [{"pointer": "/args/ignore_permissions", "detail": "never taken from a caller"}]
	assert not _seen_by(note)


def test_a_method_that_only_reads_keeps_nothing_it_wrote(expose_method, api):
	expose_method("seen", MARK_NOTE_SEEN, only_reads=1)
	note = _note()
	status, body = api("call_method", method="seen", args={"note": note.name})
	assert status == 200, body
	assert not _seen_by(note)

	frappe.db.set_value("Hub Method", "seen", "only_reads", 0)
	clear_methods_cache()
	status, body = api("call_method", method="seen", args={"note": note.name})
	assert status == 200, body
	assert _seen_by(note) == ["Administrator"]


def test_save_is_refused_for_a_method_that_returns_no_document(expose_method, api):
	expose_method("seen", MARK_NOTE_SEEN)
	status, body = api("call_method", method="seen", args={"note": "x"}, save=True)
	assert status == 400, body
	assert body["errors"][0]["pointer"] == "/save"
	status, body = api("call_method", method="seen", args={"note": "x"}, data={"title": "y"})
	assert status == 400, body
	assert body["errors"][0]["pointer"] == "/data"


def test_a_key_calls_only_the_methods_it_lists_over_http_and_mcp(http, expose_method):
	committed = Committed()
	try:
		committed.track(expose_method("seen", MARK_NOTE_SEEN))
		committed.track(expose_method("default_address", DEFAULT_ADDRESS, only_reads=1))
		committed.track(HubResourceFactory())
		note = committed.track(_note())
		user = committed.track(UserFactory(roles=[EDITOR_ROLE]))
		scopes = [{"resource": ITEM, "allow_read": 1}]
		listed = committed.track(
			HubAPIKeyFactory(user=user.name, scopes=scopes, methods=["seen", "default_address"])
		)
		unlisted = committed.track(HubAPIKeyFactory(user=user.name, scopes=scopes))
		committed.commit()
		client, other = http(), http()
		client.headers["Authorization"] = f"Bearer {listed.flags.plain_token}"
		other.headers["Authorization"] = f"Bearer {unlisted.flags.plain_token}"

		retry = {"Idempotency-Key": f"seen-{frappe.generate_hash(length=8)}"}
		body = {"method": "seen", "args": {"note": note.name}}
		answers = [client.post(f"{API}.call_method", json=body, headers=retry) for _ in range(2)]
		assert [a.status_code for a in answers] == [200, 200], answers[0].text
		assert answers[1].headers.get("Idempotent-Replayed") == "true"
		frappe.db.rollback()
		assert _seen_by(note) == [user.name]

		refused = other.post(f"{API}.call_method", json=body)
		assert (refused.status_code, refused.json()["code"]) == (403, "PERMISSION_DENIED"), refused.text

		assert "call_method" in _tool_names(client) and "call_method" not in _tool_names(other)
		listed_methods = _describe(client, {})["methods"]
		assert {m["method"] for m in listed_methods} == {"seen", "default_address"}
		seen_arguments = _describe(client, {"method": "seen"})["arguments"]["properties"]["args"]
		assert "note" in seen_arguments["properties"], "the method's own signature"
		assert _describe(client, {"method": "default_address"})["only_reads"] is True
		unknown = mcp_result(
			other, "tools/call", {"name": "describe_resource", "arguments": {"method": "seen"}}
		)
		assert unknown["structuredContent"]["error"]["code"] == "METHOD_NOT_EXPOSED", "not its method"

		call = {"method": "default_address", "args": {"doctype": "Customer", "name": None}}
		result = mcp_result(client, "tools/call", {"name": "call_method", "arguments": call})
		assert result["isError"] is False, result
		assert result["structuredContent"] == {"method": "default_address", "result": None}
		call = {"method": "default_address", "args": {"doctype": 5, "name": None}}
		result = mcp_result(client, "tools/call", {"name": "call_method", "arguments": call})
		assert result["isError"] is True
		assert result["structuredContent"]["error"]["errors"][0]["pointer"] == "/args/doctype"
		call = {"method": "seen", "args": {"note": note.name}}
		refused = mcp_result(other, "tools/call", {"name": "call_method", "arguments": call})
		assert refused["structuredContent"]["error"]["code"] == "PERMISSION_DENIED", "not its method"
	finally:
		committed.cleanup()


def _note():
	return frappe.get_doc({"doctype": "Note", "title": f"Note {frappe.generate_hash(length=8)}"}).insert()


def _seen_by(note) -> list[str]:
	return frappe.get_all("Note Seen By", filters={"parent": note.name}, pluck="user")


def _describe(client, arguments: dict) -> dict:
	result = mcp_result(client, "tools/call", {"name": "describe_resource", "arguments": arguments})
	assert result["isError"] is False, result
	return result["structuredContent"]


def _tool_names(client) -> list[str]:
	return [tool["name"] for tool in mcp_result(client, "tools/list", {})["tools"]]

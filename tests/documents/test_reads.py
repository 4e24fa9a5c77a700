"""The curated document API, called in-process as Frappe's handler calls it (argument types included)."""

import pytest

import frappe

from tests.factories import (
	CategoryFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import AUDITOR_ROLE, EDITOR_ROLE, ITEM, READER_ROLE

pytestmark = pytest.mark.usefixtures("exposed_items")


@pytest.fixture
def editor():
	return UserFactory(roles=[EDITOR_ROLE])


@pytest.fixture
def reader():
	return UserFactory(roles=[READER_ROLE])


@pytest.fixture
def auditor():
	return UserFactory(roles=[AUDITOR_ROLE])


@pytest.fixture
def outsider():
	return UserFactory(roles=[])


# --- describe ---------------------------------------------------------------------------------


def test_describe_lists_key_operations_and_fields(api, as_user, editor):
	with as_user(editor.name):
		status, body = api("describe", doctype=ITEM)
	assert status == 200, body
	described = body["message"]
	assert described["key_fields"] == ["code"]
	assert set(described["operations"]) == {"read", "create", "update", "delete", "changes"}
	fields = {f["fieldname"]: f for f in described["fields"]}
	assert fields["code"]["reqd"] == 1 and fields["code"]["read_only"] == 0
	assert fields["computed"]["read_only"] == 1
	assert "cost" not in fields, "a permlevel-1 field is not described to a user without access to it"
	assert [f["fieldname"] for f in fields["rows"]["fields"]] == ["name", "idx", "item_code", "qty"]


def test_describe_shows_only_what_a_reader_may_do(api, as_user, reader):
	with as_user(reader.name):
		status, body = api("describe", doctype=ITEM)
	assert status == 200
	assert body["message"]["operations"] == ["read", "changes"]
	assert all(f["read_only"] for f in body["message"]["fields"])


def test_describe_shows_permlevel_fields_to_an_auditor(api, as_user, auditor):
	with as_user(auditor.name):
		_status, body = api("describe", doctype=ITEM)
	assert "cost" in {f["fieldname"] for f in body["message"]["fields"]}


def test_describe_refuses_a_user_without_the_doctype_permission(api, as_user, outsider):
	with as_user(outsider.name):
		status, body = api("describe", doctype=ITEM)
	assert status == 403
	assert body["code"] == "PERMISSION_DENIED"


def test_a_doctype_without_an_enabled_resource_is_not_exposed(api, exposed_items):
	exposed_items.enabled = 0
	exposed_items.save()
	for endpoint, arguments in [
		("describe", {}),
		("list_documents", {}),
		("get_document", {"name": "x"}),
		("changes", {}),
		("upsert", {"data": {"code": "A"}}),
	]:
		status, body = api(endpoint, doctype=ITEM, **arguments)
		assert (status, body["code"]) == (404, "RESOURCE_NOT_EXPOSED"), endpoint
	status, body = api("describe", doctype="User")
	assert (status, body["code"]) == (404, "RESOURCE_NOT_EXPOSED")


# --- get_document -----------------------------------------------------------------------------


def test_get_document_by_name_and_by_key(api, as_user, editor):
	item = ItemFactory(code="GET-1", cost=12.5, rows=[{"item_code": "X", "qty": 2}])
	with as_user(editor.name):
		by_name = api("get_document", doctype=ITEM, name=item.name)
		by_key = api("get_document", doctype=ITEM, key='{"code": "GET-1"}')
	assert by_name == by_key
	status, body = by_name
	assert status == 200
	doc = body["message"]
	assert doc["code"] == "GET-1" and doc["rows"][0]["item_code"] == "X"
	assert "cost" not in doc


def test_get_document_shows_permlevel_field_to_auditor(api, as_user, auditor):
	item = ItemFactory(cost=12.5)
	with as_user(auditor.name):
		_status, body = api("get_document", doctype=ITEM, name=item.name)
	assert body["message"]["cost"] == 12.5


def test_get_document_absent_is_404(api):
	status, body = api("get_document", doctype=ITEM, name="does-not-exist")
	assert (status, body["code"]) == (404, "NOT_FOUND")


def test_get_document_respects_user_permissions(api, as_user, reader):
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=reader.name, for_value=mine.name)
	visible = ItemFactory(category=mine.name)
	hidden = ItemFactory(category=theirs.name)
	with as_user(reader.name):
		assert api("get_document", doctype=ITEM, name=visible.name)[0] == 200
		status, body = api("get_document", doctype=ITEM, name=hidden.name)
	assert (status, body["code"]) == (404, "NOT_FOUND")
	assert hidden.code not in str(body)


# --- list_documents ---------------------------------------------------------------------------


def test_list_pages_through_everything_in_order(api):
	codes = {ItemFactory(code=f"PAGE-{i:02d}").code for i in range(7)}
	seen, cursor = [], None
	while True:
		status, body = api(
			"list_documents",
			doctype=ITEM,
			filters='[["code", "like", "PAGE-%"]]',
			limit="3",
			cursor=cursor,
			order_by="name asc",
		)
		assert status == 200, body
		page = body["message"]
		seen.extend(row["code"] for row in page["data"])
		cursor = page["next_cursor"]
		assert page["has_more"] == bool(cursor)
		if not cursor:
			break
	assert sorted(seen) == sorted(codes) and len(seen) == len(codes)


def test_list_by_modified_is_total_even_with_equal_timestamps(api):
	items = [ItemFactory(code=f"SAME-{i}") for i in range(5)]
	frappe.db.sql(f"update `tab{ITEM}` set modified = '2026-01-01 00:00:00.000000' where code like 'SAME-%%'")
	seen, cursor = [], None
	for _page in range(10):
		_status, body = api(
			"list_documents", doctype=ITEM, filters={"code": ["like", "SAME-%"]}, limit=2, cursor=cursor
		)
		seen.extend(r["name"] for r in body["message"]["data"])
		cursor = body["message"]["next_cursor"]
		if not cursor:
			break
	assert seen == sorted(i.name for i in items)


def test_list_respects_user_permissions(api, as_user, reader):
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=reader.name, for_value=mine.name)
	visible = ItemFactory(category=mine.name)
	ItemFactory(category=theirs.name)
	with as_user(reader.name):
		_status, body = api("list_documents", doctype=ITEM, limit=100)
	assert [row["name"] for row in body["message"]["data"]] == [visible.name]


def test_list_refuses_filters_and_fields_above_permlevel(api, as_user, reader):
	ItemFactory(cost=99)
	with as_user(reader.name):
		for arguments, pointer in [
			({"filters": '[["cost", ">", 10]]'}, "/filters/0/0"),
			({"filters": {"cost": 99}}, "/filters/cost/0"),
			({"fields": '["name", "cost"]'}, "/fields/1"),
			({"order_by": "cost desc"}, "/order_by"),
		]:
			status, body = api("list_documents", doctype=ITEM, **arguments)
			assert (status, body["code"]) == (400, "BAD_REQUEST"), arguments
			assert body["errors"][0]["pointer"].startswith(pointer.split("/0")[0]), body
		status, body = api("list_documents", doctype=ITEM)
	assert all("cost" not in row for row in body["message"]["data"])


@pytest.mark.parametrize(
	"arguments",
	[
		{"filters": '[["code", "drop table", 1]]'},
		{"filters": "{not json"},
		{"filters": '[["code", "=", {"nested": 1}]]'},
		{"filters": '[["code; drop table tabUser", "=", 1]]'},
		{"filters": '[["code", "in", "not-a-list"]]'},
		{"filters": '[["code", "is", "maybe"]]'},
		{"filters": "42"},
		{"order_by": "modified; drop table tabUser"},
		{"order_by": "(select 1)"},
		{"limit": "-1"},
		{"limit": "ten"},
		{"fields": '["name`, (select 1) as `x"]'},
	],
)
def test_list_refuses_malformed_input_with_400(api, arguments):
	status, body = api("list_documents", doctype=ITEM, **arguments)
	assert status == 400, body
	assert body["code"] == "BAD_REQUEST" and "Traceback" not in str(body)


def test_list_refuses_a_tampered_or_reused_cursor(api):
	for i in range(3):
		ItemFactory(code=f"CUR-{i}")
	status, body = api("list_documents", doctype=ITEM, filters={"code": ["like", "CUR-%"]}, limit=1)
	cursor = body["message"]["next_cursor"]
	payload, signature = cursor.split(".")
	tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
	for bad in (tampered, cursor + "x", "garbage", cursor.replace(".", "")):
		status, body = api(
			"list_documents", doctype=ITEM, filters={"code": ["like", "CUR-%"]}, limit=1, cursor=bad
		)
		assert (status, body["code"]) == (400, "INVALID_CURSOR"), bad
	status, body = api(
		"list_documents", doctype=ITEM, filters={"code": ["like", "OTHER-%"]}, limit=1, cursor=cursor
	)
	assert (status, body["code"]) == (400, "INVALID_CURSOR")


def test_list_refuses_a_user_without_permission(api, as_user, outsider):
	with as_user(outsider.name):
		status, body = api("list_documents", doctype=ITEM)
	assert (status, body["code"]) == (403, "PERMISSION_DENIED")


def test_a_json_argument_nested_past_the_recursion_limit_is_400(api):
	filters = '{"title": ' + "[" * 5_000 + "]" * 5_000 + "}"
	status, body = api("list_documents", doctype=ITEM, filters=filters)
	assert status == 400 and body["code"] == "BAD_REQUEST", body
	assert "nested" in body["detail"]

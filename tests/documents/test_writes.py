"""upsert, bulk_upsert and delete_document: the write side of the curated API, in-process."""

import pytest

import frappe

from tests.factories import (
	CategoryFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM, READER_ROLE

pytestmark = pytest.mark.usefixtures("exposed_items")


@pytest.fixture
def editor():
	return UserFactory(roles=[EDITOR_ROLE])


def item_count() -> int:
	return frappe.db.count(ITEM)


# --- upsert -----------------------------------------------------------------------------------


def test_upsert_creates_then_updates_then_leaves_unchanged(api, as_user, editor):
	with as_user(editor.name):
		status, body = api("upsert", doctype=ITEM, data={"code": "UP-1", "title": "First", "qty": 3})
		assert status == 200, body
		created = body["message"]
		assert created["status"] == "created" and created["doc"]["title"] == "First"

		status, body = api("upsert", doctype=ITEM, data='{"code": "UP-1", "title": "Second"}')
		assert body["message"]["status"] == "updated" and body["message"]["name"] == created["name"]
		modified = frappe.db.get_value(ITEM, created["name"], "modified")
		versions = frappe.db.count("Version", {"ref_doctype": ITEM, "docname": created["name"]})
		changes = frappe.db.count("Hub Change", {"ref_doctype": ITEM, "docname": created["name"]})

		status, body = api("upsert", doctype=ITEM, data={"code": "UP-1", "title": "Second", "qty": "3"})
	assert body["message"]["status"] == "unchanged"
	assert frappe.db.get_value(ITEM, created["name"], "modified") == modified
	assert frappe.db.count("Version", {"ref_doctype": ITEM, "docname": created["name"]}) == versions
	assert frappe.db.count("Hub Change", {"ref_doctype": ITEM, "docname": created["name"]}) == changes


def test_upsert_replaces_child_tables_as_given(api):
	_status, body = api(
		"upsert",
		doctype=ITEM,
		data={"code": "UP-T", "rows": [{"item_code": "A", "qty": 1}, {"item_code": "B", "qty": 2}]},
	)
	name = body["message"]["name"]
	_status, body = api(
		"upsert",
		doctype=ITEM,
		data={"code": "UP-T", "rows": [{"item_code": "A", "qty": 1}, {"item_code": "B", "qty": 2}]},
	)
	assert body["message"]["status"] == "unchanged"
	_status, body = api("upsert", doctype=ITEM, data={"code": "UP-T", "rows": [{"item_code": "C", "qty": 5}]})
	assert body["message"]["status"] == "updated"
	rows = frappe.get_doc(ITEM, name).rows
	assert [(r.item_code, r.qty) for r in rows] == [("C", 5)]


def test_upsert_with_a_key_override(api):
	item = ItemFactory(title="Unique Title")
	_status, body = api("upsert", doctype=ITEM, key='["title"]', data={"title": "Unique Title", "qty": 9})
	assert body["message"] == {**body["message"], "name": item.name, "status": "updated"}


@pytest.mark.parametrize(
	("data", "pointer"),
	[
		({"code": "V-1", "nonexistent": 1}, "/data/nonexistent"),
		({"code": "V-1", "computed": "x"}, "/data/computed"),
		({"code": "V-1", "qty": "many"}, "/data/qty"),
		({"code": "V-1", "status": "Bogus"}, "/data/status"),
		({"code": "V-1", "rows": [{"item_code": "A", "secret": 1}]}, "/data/rows/0/secret"),
		({"code": "V-1", "rows": "not-a-list"}, "/data/rows"),
		({"title": "no key"}, "/data/code"),
		({"code": "V-1", "owner": "someone@example.com"}, "/data/owner"),
	],
)
def test_upsert_refuses_bad_fields_with_422_naming_them(api, data, pointer):
	before = item_count()
	status, body = api("upsert", doctype=ITEM, data=data)
	assert (status, body["code"]) == (422, "VALIDATION_FAILED"), body
	assert pointer in [e["pointer"] for e in body["errors"]]
	assert item_count() == before


def test_upsert_refuses_a_permlevel_field_the_caller_cannot_write(api, as_user, editor):
	with as_user(editor.name):
		status, body = api("upsert", doctype=ITEM, data={"code": "PL-1", "cost": 5})
	assert status == 422 and body["errors"][0]["pointer"] == "/data/cost"
	assert not frappe.db.exists(ITEM, {"code": "PL-1"})


def test_upsert_refuses_malformed_json_and_types_with_400(api):
	for data in ("{not json", "[1, 2]", "42", '"text"'):
		status, body = api("upsert", doctype=ITEM, data=data)
		assert (status, body["code"]) == (400, "BAD_REQUEST"), data


def test_upsert_needs_create_and_write_permission(api, as_user):
	reader = UserFactory(roles=[READER_ROLE])
	item = ItemFactory()
	with as_user(reader.name):
		assert api("upsert", doctype=ITEM, data={"code": "NEW-R"})[0] == 403
		assert api("upsert", doctype=ITEM, data={"code": item.code, "qty": 42})[0] == 403
	assert frappe.db.get_value(ITEM, item.name, "qty") == 1


def test_upsert_refuses_operations_the_resource_does_not_allow(api, exposed_items):
	exposed_items.allow_create = 0
	exposed_items.save()
	status, body = api("upsert", doctype=ITEM, data={"code": "NOPE"})
	assert (status, body["code"]) == (403, "PERMISSION_DENIED")


def test_upsert_does_not_duplicate_a_document_hidden_by_user_permissions(api, as_user, editor):
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=editor.name, for_value=mine.name)
	hidden = ItemFactory(code="HIDDEN-1", category=theirs.name)
	with as_user(editor.name):
		status, _body = api("upsert", doctype=ITEM, data={"code": "HIDDEN-1", "category": mine.name})
	assert status == 403
	assert frappe.db.count(ITEM, {"code": "HIDDEN-1"}) == 1
	assert frappe.db.get_value(ITEM, hidden.name, "category") == theirs.name


# --- bulk_upsert ------------------------------------------------------------------------------


def test_bulk_upsert_reports_every_record_and_keeps_the_good_ones(api):
	existing = ItemFactory(code="B-EXIST", qty=1)
	records = [
		{"code": "B-NEW-1", "qty": 1},
		{"code": "B-EXIST", "qty": 7},
		{"code": "B-BAD", "qty": "lots"},
		{"code": "B-EXIST", "qty": 7},
		"not an object",
		{"code": "B-NEW-2", "category": "no such category"},
	]
	status, body = api("bulk_upsert", doctype=ITEM, records=records)
	assert status == 200, body
	results = body["message"]["results"]
	assert [r["index"] for r in results] == list(range(6))
	assert [r["status"] for r in results] == ["created", "updated", "failed", "unchanged", "failed", "failed"]
	assert results[2]["error"]["errors"][0]["pointer"] == "/records/2/qty"
	assert results[5]["error"]["code"] == "VALIDATION_FAILED"
	assert frappe.db.exists(ITEM, {"code": "B-NEW-1"})
	assert not frappe.db.exists(ITEM, {"code": "B-NEW-2"})
	assert frappe.db.get_value(ITEM, existing.name, "qty") == 7


def test_atomic_bulk_upsert_writes_nothing_when_one_record_fails(api):
	before = item_count()
	status, body = api(
		"bulk_upsert",
		doctype=ITEM,
		atomic=True,
		records=[{"code": "AT-1"}, {"code": "AT-2", "qty": "x"}, {"code": "AT-3"}],
	)
	assert (status, body["code"]) == (422, "VALIDATION_FAILED")
	assert [e["index"] for e in body["errors"]] == [1]
	assert body["errors"][0]["pointer"] == "/records/1/qty"
	assert item_count() == before


def test_atomic_bulk_upsert_writes_everything_when_all_succeed(api):
	status, body = api(
		"bulk_upsert", doctype=ITEM, atomic="true", records=[{"code": "AT-OK-1"}, {"code": "AT-OK-2"}]
	)
	assert status == 200 and {r["status"] for r in body["message"]["results"]} == {"created"}


def test_bulk_upsert_over_the_batch_size_is_413_and_writes_nothing(api, exposed_items):
	exposed_items.max_batch_size = 3
	exposed_items.save()
	before = item_count()
	status, body = api("bulk_upsert", doctype=ITEM, records=[{"code": f"BIG-{i}"} for i in range(4)])
	assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")
	assert item_count() == before


def test_bulk_upsert_as_a_user_without_permission(api, as_user):
	reader = UserFactory(roles=[READER_ROLE])
	with as_user(reader.name):
		status, body = api("bulk_upsert", doctype=ITEM, records=[{"code": "R-1"}])
	assert (status, body["code"]) == (403, "PERMISSION_DENIED")
	assert not frappe.db.exists(ITEM, {"code": "R-1"})


def test_bulk_upsert_refuses_records_that_are_not_a_list(api):
	for records in ('{"code": 1}', "[not json", "7"):
		status, _body = api("bulk_upsert", doctype=ITEM, records=records)
		assert status == 400, records


# --- delete_document --------------------------------------------------------------------------


def test_delete_by_name_and_by_key(api, as_user, editor):
	first, second = ItemFactory(), ItemFactory()
	with as_user(editor.name):
		assert api("delete_document", doctype=ITEM, name=first.name)[1]["message"] == {
			"name": first.name,
			"status": "deleted",
		}
		assert api("delete_document", doctype=ITEM, key={"code": second.code})[0] == 200
	assert not frappe.db.exists(ITEM, first.name) and not frappe.db.exists(ITEM, second.name)


def test_delete_absent_is_404_and_reader_is_403(api, as_user):
	item = ItemFactory()
	assert api("delete_document", doctype=ITEM, name="nope")[0] == 404
	reader = UserFactory(roles=[READER_ROLE])
	with as_user(reader.name):
		status, body = api("delete_document", doctype=ITEM, name=item.name)
	assert (status, body["code"]) == (403, "PERMISSION_DENIED")
	assert frappe.db.exists(ITEM, item.name)


def test_delete_hidden_by_user_permissions_is_404(api, as_user, editor):
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=editor.name, for_value=mine.name)
	hidden = ItemFactory(category=theirs.name)
	with as_user(editor.name):
		status, _body = api("delete_document", doctype=ITEM, name=hidden.name)
	assert status == 404
	assert frappe.db.exists(ITEM, hidden.name)

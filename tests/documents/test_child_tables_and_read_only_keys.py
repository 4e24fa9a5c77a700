"""Filters and keys on child tables (`rows.item_code`: the document one of whose rows has the value), and
key fields the caller may not write (compared, never written)."""

import pytest

import frappe

from tests.factories import ItemFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM, ITEM_ROW, READER_ROLE

pytestmark = pytest.mark.usefixtures("exposed_items")


def _item(code: str, *row_codes: str):
	return ItemFactory(code=code, rows=[{"item_code": row_code, "qty": 1} for row_code in row_codes])


def _listed(api, filters, **arguments) -> list[str]:
	seen, cursor = [], None
	for _page in range(20):
		status, body = api("list_documents", doctype=ITEM, filters=filters, cursor=cursor, **arguments)
		assert status == 200, body
		seen.extend(row["code"] for row in body["message"]["data"])
		cursor = body["message"]["next_cursor"]
		if not cursor:
			return seen
	raise AssertionError("more pages than documents")


@pytest.fixture
def scanned():
	"""A has two rows with the barcode, B one, C another barcode, D none."""
	return [
		_item("CHILD-A", "BAR-1", "BAR-1"),
		_item("CHILD-B", "BAR-1", "BAR-2"),
		_item("CHILD-C", "BAR-2"),
		_item("CHILD-D"),
	]


@pytest.mark.parametrize(
	"filters",
	[
		{"rows.item_code": "BAR-1"},
		[["rows", "item_code", "=", "BAR-1"]],
		[[ITEM_ROW, "item_code", "=", "BAR-1"]],  # Frappe's own form: the child DocType
		[["rows.item_code", "=", "BAR-1"]],
	],
)
def test_a_child_filter_finds_each_parent_once(api, scanned, filters):
	assert sorted(_listed(api, filters)) == ["CHILD-A", "CHILD-B"]


@pytest.mark.parametrize("order_by", ["name asc", "modified desc", "creation asc"])
def test_child_filters_page_exactly_one_document_at_a_time(api, scanned, order_by):
	# CHILD-A matches twice: a page of one must still hold one document, and the next page the next.
	frappe.db.sql(
		f"update `tab{ITEM}` set modified = '2026-01-01 00:00:00.000000' where code like 'CHILD-%%'"
	)
	seen = _listed(api, {"rows.item_code": ["like", "BAR-%"]}, limit=1, order_by=order_by)
	assert sorted(seen) == ["CHILD-A", "CHILD-B", "CHILD-C"] and len(seen) == 3


@pytest.mark.parametrize(
	("operator", "value", "expected"),
	[
		("in", ["BAR-2"], ["CHILD-B", "CHILD-C"]),
		("like", "%-1", ["CHILD-A", "CHILD-B"]),
		("not in", ["BAR-1"], ["CHILD-B", "CHILD-C"]),  # has a row that is not BAR-1
		("is", "set", ["CHILD-A", "CHILD-B", "CHILD-C"]),
	],
)
def test_child_filters_take_every_operator(api, scanned, operator, value, expected):
	filters = [["rows", "item_code", operator, value], ["code", "like", "CHILD-%"]]
	assert sorted(_listed(api, filters)) == expected


def test_child_and_parent_filters_combine(api, scanned):
	filters = {"rows.item_code": "BAR-2", "code": ["!=", "CHILD-C"]}
	assert _listed(api, filters) == ["CHILD-B"]


@pytest.mark.parametrize(
	("filters", "pointer"),
	[
		({"rows.nothing": "x"}, "/filters/rows.nothing/0"),
		([["rows", "nothing", "=", "x"]], "/filters/0/1"),
		([["nowhere", "item_code", "=", "x"]], "/filters/0/0"),
		([["Hub Test Category", "name", "=", "x"]], "/filters/0/0"),  # not a child table of the item
		([["rows", "item_code", "~", "x"]], "/filters/0/2"),
		([["rows", "item_code", "in", "x"]], "/filters/0/3"),
	],
)
def test_bad_child_filters_are_refused_naming_the_argument(api, filters, pointer):
	status, body = api("list_documents", doctype=ITEM, filters=filters)
	assert status == 400, body
	assert body["errors"][0]["pointer"] == pointer


def test_a_child_table_outside_the_allowlist_cannot_be_filtered(api):
	_narrow_exposure(["code", "title"])
	_item("CHILD-HIDDEN", "BAR-9")
	status, body = api("list_documents", doctype=ITEM, filters={"rows.item_code": "BAR-9"})
	assert status == 400, body
	assert "not a child table of" in body["detail"]


def _narrow_exposure(fields: list[str]) -> None:
	resource = frappe.get_doc("Hub Resource", ITEM)
	resource.set("fields", [{"fieldname": f} for f in fields])
	resource.save()


def test_a_reader_filters_through_frappe_permissions(api, as_user, scanned):
	reader = UserFactory(roles=[READER_ROLE])
	with as_user(reader.name):
		assert sorted(_listed(api, {"rows.item_code": "BAR-1"})) == ["CHILD-A", "CHILD-B"]
	outsider = UserFactory(roles=[])
	with as_user(outsider.name):
		status, _body = api("list_documents", doctype=ITEM, filters={"rows.item_code": "BAR-1"})
	assert status == 403


# --- keys on child tables -----------------------------------------------------------------------


def test_upsert_by_a_child_key_creates_with_the_row_then_finds_it(api):
	status, body = api(
		"upsert", doctype=ITEM, key=["rows.item_code"], data={"rows.item_code": "SCAN-1", "code": "BY-SCAN"}
	)
	assert status == 200, body
	created = body["message"]
	assert created["status"] == "created"
	assert [row["item_code"] for row in created["doc"]["rows"]] == ["SCAN-1"]
	status, body = api(
		"upsert", doctype=ITEM, key=["rows.item_code"], data={"rows.item_code": "scan-1 ", "title": "Found"}
	)
	assert status == 200, body
	assert body["message"]["status"] == "updated" and body["message"]["name"] == created["name"]
	assert frappe.db.count(ITEM, {"code": "BY-SCAN"}) == 1
	assert [r.item_code for r in frappe.get_doc(ITEM, created["name"]).rows] == ["SCAN-1"]


def test_a_child_key_with_its_table_given_must_name_the_key_row(api):
	data = {"rows.item_code": "SCAN-2", "code": "BY-SCAN-2", "rows": [{"item_code": "OTHER"}]}
	status, body = api("upsert", doctype=ITEM, key=["rows.item_code"], data=data)
	assert status == 422, body
	assert body["errors"][0]["pointer"] == "/data/rows"
	assert not frappe.db.exists(ITEM, {"code": "BY-SCAN-2"})
	data["rows"].append({"item_code": "SCAN-2", "qty": 3})
	status, body = api("upsert", doctype=ITEM, key=["rows.item_code"], data=data)
	assert status == 200 and body["message"]["status"] == "created", body


def test_bulk_upsert_by_a_child_key(api):
	_item("BULK-SCAN-OLD", "SCAN-OLD")
	records = [
		{"rows.item_code": "SCAN-OLD", "title": "updated"},
		{"rows.item_code": "SCAN-NEW", "code": "BULK-SCAN-NEW"},
	]
	status, body = api("bulk_upsert", doctype=ITEM, key=["rows.item_code"], records=records)
	assert status == 200, body
	assert [r["status"] for r in body["message"]["results"]] == ["updated", "created"]
	assert frappe.db.get_value(ITEM, {"code": "BULK-SCAN-OLD"}, "title") == "updated"
	assert frappe.db.count(ITEM, {"code": ["in", ["BULK-SCAN-OLD", "BULK-SCAN-NEW"]]}) == 2


def test_get_document_by_a_child_key(api, scanned):
	status, body = api("get_document", doctype=ITEM, key={"rows.item_code": "BAR-2"})
	assert status == 409, body  # two items have it
	status, body = api("get_document", doctype=ITEM, key={"rows.item_code": "BAR-1", "code": "CHILD-B"})
	assert status == 200 and body["message"]["code"] == "CHILD-B", body


def test_a_resource_may_be_keyed_by_a_child_field(api):
	resource = frappe.get_doc("Hub Resource", ITEM)
	resource.key_fields = "rows.item_code"
	resource.save()
	status, body = api("upsert", doctype=ITEM, data={"rows.item_code": "SCAN-R", "code": "BY-RESOURCE-KEY"})
	assert status == 200 and body["message"]["status"] == "created", body
	resource.key_fields = "rows.nothing"
	with pytest.raises(frappe.ValidationError, match=r"rows\.nothing"):
		resource.save()


# --- key fields the caller may not write ------------------------------------------------------


def test_a_read_only_key_finds_the_document_and_is_not_written(api, as_user):
	item = ItemFactory(code="RO-KEY")
	frappe.db.set_value(ITEM, item.name, "computed", "COMPUTED-1")
	editor = UserFactory(roles=[EDITOR_ROLE])
	with as_user(editor.name):
		status, body = api(
			"upsert",
			doctype=ITEM,
			key=["computed"],
			data={"computed": "computed-1", "title": "via read-only"},
		)
	assert status == 200, body
	assert body["message"]["status"] == "updated" and body["message"]["name"] == item.name
	assert frappe.db.get_value(ITEM, item.name, ["title", "computed"]) == ("via read-only", "COMPUTED-1")


def test_a_read_only_key_the_new_document_does_not_take_is_a_422_naming_it(api):
	status, body = api("upsert", doctype=ITEM, key=["computed"], data={"computed": "NEW-1", "code": "RO-NEW"})
	assert status == 422, body
	assert body["errors"][0]["pointer"] == "/data/computed"
	assert "computed" in body["detail"] and ITEM in body["detail"]
	assert not frappe.db.exists(ITEM, {"code": "RO-NEW"})


def test_a_read_only_field_that_is_not_the_key_is_still_refused(api):
	status, body = api("upsert", doctype=ITEM, data={"code": "RO-OTHER", "computed": "x"})
	assert status == 422, body
	assert body["errors"][0] == {"pointer": "/data/computed", "detail": "field is read-only for you"}

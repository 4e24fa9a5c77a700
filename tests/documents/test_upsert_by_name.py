"""A key of `name`: honoured where Frappe lets a caller name a document, refused (422, nothing written)
where the DocType generates its names; never a document with a random name beside the one asked for."""

import pytest

import frappe

from tests.factories import HubResourceFactory
from tests.fixtures_doctypes import CATEGORY, ITEM, NAMED_BY_RULE


def expose_by_name(doctype: str) -> None:
	HubResourceFactory(document_type=doctype, key_fields="")  # empty: keyed by `name`


def test_upsert_by_name_of_a_todo_creates_it_once_under_that_name(api):
	expose_by_name("ToDo")
	statuses = []
	for _attempt in range(3):
		status, body = api("upsert", doctype="ToDo", data={"name": "PX1", "description": "same"})
		assert status == 200, body
		statuses.append(body["message"]["status"])
	assert statuses == ["created", "unchanged", "unchanged"]
	assert frappe.db.get_all("ToDo", {"description": "same"}, pluck="name") == ["PX1"]


def test_bulk_upsert_by_name_of_a_hash_named_doctype_creates_each_once(api):
	expose_by_name(ITEM)
	records = [{"name": f"BN-{i}", "code": f"BN-CODE-{i}"} for i in range(3)]
	for expected in ("created", "unchanged"):
		status, body = api("bulk_upsert", doctype=ITEM, records=records)
		assert status == 200, body
		assert [r["status"] for r in body["message"]["results"]] == [expected] * 3
	assert sorted(frappe.db.get_all(ITEM, {"code": ("like", "BN-CODE-%")}, pluck="name")) == [
		"BN-0",
		"BN-1",
		"BN-2",
	]


def test_a_prompt_named_doctype_takes_the_given_name(api):
	expose_by_name(NAMED_BY_RULE["prompt"])
	status, body = api("upsert", doctype=NAMED_BY_RULE["prompt"], data={"name": "Chosen", "title": "t"})
	assert (status, body["message"]["status"], body["message"]["name"]) == (200, "created", "Chosen")


def test_a_field_named_doctype_is_named_by_its_field(api):
	expose_by_name(CATEGORY)
	status, body = api("upsert", doctype=CATEGORY, data={"name": "Tools"})
	assert status == 200, body
	assert frappe.db.get_value(CATEGORY, "Tools", "category_name") == "Tools"

	status, body = api("upsert", doctype=CATEGORY, data={"name": "Paint", "category_name": "Brushes"})
	assert status == 422 and body["code"] == "VALIDATION_FAILED", body
	assert body["errors"][0]["pointer"] == "/data/name"
	assert not frappe.db.exists(CATEGORY, "Paint") and not frappe.db.exists(CATEGORY, "Brushes")


@pytest.mark.parametrize("rule", ["autoincrement", "series", "format"])
def test_a_doctype_that_generates_names_refuses_creation_by_name_and_writes_nothing(api, rule):
	doctype = NAMED_BY_RULE[rule]
	expose_by_name(doctype)
	before = frappe.db.count(doctype)
	status, body = api("upsert", doctype=doctype, data={"name": "77", "title": "by name"})
	assert status == 422 and body["code"] == "VALIDATION_FAILED", body
	assert "key the records by a field" in body["detail"]
	status, body = api("bulk_upsert", doctype=doctype, records=[{"name": "78", "title": "by name"}])
	[result] = body["message"]["results"]
	assert result["status"] == "failed" and result["error"]["status"] == 422
	assert frappe.db.count(doctype) == before


def test_a_generated_name_still_updates_the_document_it_names(api):
	doctype = NAMED_BY_RULE["autoincrement"]
	expose_by_name(doctype)
	existing = frappe.get_doc({"doctype": doctype, "title": "before"}).insert()
	status, body = api("upsert", doctype=doctype, data={"name": str(existing.name), "title": "after"})
	assert status == 200 and body["message"]["status"] == "updated", body
	assert frappe.db.get_value(doctype, existing.name, "title") == "after"


def test_a_document_naming_rule_makes_names_generated(api):
	expose_by_name(ITEM)
	frappe.get_doc(
		{"doctype": "Document Naming Rule", "document_type": ITEM, "prefix": "HTI-", "prefix_digits": 4}
	).insert()
	status, body = api("upsert", doctype=ITEM, data={"name": "NR-1", "code": "NR-1"})
	assert status == 422 and body["code"] == "VALIDATION_FAILED", body
	assert not frappe.db.exists(ITEM, {"code": "NR-1"})

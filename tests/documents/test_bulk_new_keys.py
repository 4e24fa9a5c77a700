"""bulk_upsert's shortcut for new keys gives the same results as record-by-record upserts.

A batch's keys are checked in one query and records with a new key are created without their own
lookup; when that guess is wrong the unique index on the key refuses the insert and the record is
retried with the lookup. These tests make the guess wrong on purpose.
"""

import pytest

import frappe

from tests.factories import (
	CategoryFactory,
	HubResourceFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import CATEGORY, EDITOR_ROLE, ITEM

pytestmark = pytest.mark.usefixtures("exposed_items")


def test_a_new_key_twice_in_one_batch_is_created_once_then_updated(api):
	records = [{"code": "TWICE-1", "qty": 1}, {"code": "TWICE-1", "qty": 2}, {"code": "TWICE-1", "qty": 2}]
	status, body = api("bulk_upsert", doctype=ITEM, records=records)
	assert status == 200, body
	results = body["message"]["results"]
	assert [r["status"] for r in results] == ["created", "updated", "unchanged"]
	assert len({r["name"] for r in results}) == 1
	assert frappe.get_all(ITEM, filters={"code": "TWICE-1"}, pluck="qty") == [2]


def test_a_doctype_named_by_its_key_retries_a_wrong_guess_too(api):
	# The duplicate then hits the primary key (DuplicateEntryError) before the key's unique index.
	HubResourceFactory(document_type=CATEGORY, key_fields="category_name")
	records = [{"category_name": "Named Twice"}, {"category_name": "Named Twice"}]
	status, body = api("bulk_upsert", doctype=CATEGORY, records=records)
	assert status == 200, body
	assert [r["status"] for r in body["message"]["results"]] == ["created", "unchanged"]
	assert frappe.db.count(CATEGORY, {"category_name": "Named Twice"}) == 1


def test_a_key_the_database_compares_as_equal_updates_the_existing_document(api):
	# MariaDB's collation ignores case and accents: "À" is "A" to the unique index and to the lookup.
	existing = ItemFactory(code="ACCENT-A1", qty=1)
	status, body = api("bulk_upsert", doctype=ITEM, records=[{"code": "ÀCCENT-A1", "qty": 5}])
	assert status == 200, body
	assert body["message"]["results"][0] == {"index": 0, "status": "updated", "name": existing.name}
	assert frappe.get_all(ITEM, filters={"code": "ACCENT-A1"}, pluck="qty") == [5]


def test_a_key_hidden_from_the_caller_is_still_refused_not_duplicated(api, as_user):
	editor = UserFactory(roles=[EDITOR_ROLE])
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=editor.name, for_value=mine.name)
	ItemFactory(code="HIDDEN-B1", category=theirs.name)
	with as_user(editor.name):
		status, body = api(
			"bulk_upsert",
			doctype=ITEM,
			records=[
				{"code": "HIDDEN-B1", "category": mine.name},
				{"code": "VISIBLE-B1", "category": mine.name},
			],
		)
	assert status == 200, body
	results = body["message"]["results"]
	assert [r["status"] for r in results] == ["failed", "created"]
	assert results[0]["error"]["status"] == 403
	assert frappe.db.count(ITEM, {"code": "HIDDEN-B1"}) == 1


def test_keys_without_a_unique_index_take_the_lookup_for_every_record(api):
	item = ItemFactory(title="Title Key B1")
	status, body = api(
		"bulk_upsert",
		doctype=ITEM,
		key='["title"]',
		records=[
			{"title": "Title Key B1", "qty": 4},
			{"title": "Title Key B2", "code": "TK-B2"},
			{"title": "Title Key B2", "qty": 6},
		],
	)
	assert status == 200, body
	assert [r["status"] for r in body["message"]["results"]] == ["updated", "created", "updated"]
	assert frappe.db.get_value(ITEM, item.name, "qty") == 4
	assert frappe.get_all(ITEM, filters={"title": "Title Key B2"}, pluck="qty") == [6]

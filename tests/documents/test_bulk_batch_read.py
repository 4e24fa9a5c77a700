"""bulk_upsert's batched read (documents/batch_read.py): the documents a batch's keys name are read at once,
and a record is compared with its document in memory; the answers are those of record-by-record
upserts, with Frappe's permissions decided per document, and the hub's own rows of the batch written
once at its end (documents/deferred.py)."""

import json
import time

import pytest

import frappe
from frappe.realtime import flush_realtime_log
from frappe.utils import now_datetime
from frappe.utils.background_jobs import get_redis_connection_without_auth

from integration_hub.documents.realtime_log import (
	RealtimeLog,
	flush_in_one_round_trip,
	use_indexed_realtime_log,
)
from tests.factories import (
	CategoryFactory,
	HubSubscriptionFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import statements_run

pytestmark = pytest.mark.usefixtures("exposed_items")


@pytest.fixture
def editor():
	return UserFactory(roles=[EDITOR_ROLE])


def bulk(api, records: list, **arguments) -> list[dict]:
	status, body = api("bulk_upsert", doctype=ITEM, records=records, **arguments)
	assert status == 200, body
	return body["message"]["results"]


def statuses(results: list[dict]) -> list[str]:
	return [result["status"] for result in results]


def stored(name: str) -> dict:
	doc = frappe.get_doc(ITEM, name)
	return {
		"modified": doc.modified,
		"changes": frappe.db.count("Hub Change", {"ref_doctype": ITEM, "docname": name}),
		"rows": [(row.item_code, row.qty) for row in doc.rows],
	}


# --- unchanged records ----------------------------------------------------------------------


def test_unchanged_records_of_a_batch_write_nothing_and_read_once(api):
	created = bulk(api, [{"code": f"BR-{i}", "title": f"Title {i}", "qty": i} for i in range(20)])
	assert set(statuses(created)) == {"created"}
	before = {result["name"]: stored(result["name"]) for result in created}

	# Given as a client may send them: numbers as text, a Select left as its default.
	again = [{"code": f"BR-{i}", "title": f"Title {i}", "qty": str(i), "status": "Draft"} for i in range(20)]
	with statements_run() as statements:
		results = bulk(api, again)
	assert set(statuses(results)) == {"unchanged"}
	assert [r["name"] for r in results] == [r["name"] for r in created]
	assert {name: stored(name) for name in before} == before
	# The keys' lock rows (one statement and its read), then the batch's documents at once: no record
	# savepoint, no load or write per record.
	assert not [s for s in statements if s.startswith(("insert into `tabhub test item", "update", "delete"))]
	assert not [s for s in statements if "integration_hub_bulk_record" in s]
	assert len(statements) <= 8, statements


def test_documents_written_outside_the_hub_are_found_by_their_key(api):
	items = [ItemFactory(code=f"OUT-{i}", qty=i) for i in range(3)]  # no lock row records them
	records = [{"code": "OUT-0", "qty": 0}, {"code": "out-1 ", "qty": 1}, {"code": "OUT-2", "qty": 2}]
	results = bulk(api, [*records, {"code": "OUT-2", "qty": 9}])
	# A key compares as the database compares it (case, trailing spaces), and the value given is then
	# stored; OUT-2 is named twice: both records take the record-by-record lookup, the second seeing
	# what the first left.
	assert statuses(results) == ["unchanged", "updated", "unchanged", "updated"]
	assert [r["name"] for r in results] == [items[0].name, items[1].name, items[2].name, items[2].name]
	assert frappe.db.get_value(ITEM, items[1].name, "code") == "out-1 "
	assert frappe.db.get_value(ITEM, items[2].name, "qty") == 9


def test_child_tables_compare_row_by_row(api):
	rows = [{"item_code": "A", "qty": 1}, {"item_code": "B", "qty": 2}]
	(created,) = bulk(api, [{"code": "BR-T", "rows": rows}])
	name = created["name"]
	before = stored(name)

	results = bulk(api, [{"code": "BR-T", "rows": [{"item_code": "A", "qty": "1"}, rows[1]]}])
	assert statuses(results) == ["unchanged"], results
	assert stored(name) == before

	assert statuses(bulk(api, [{"code": "BR-T", "rows": list(reversed(rows))}])) == ["updated"]
	assert stored(name)["rows"] == [("B", 2), ("A", 1)]
	assert statuses(bulk(api, [{"code": "BR-T", "rows": [rows[1]]}])) == ["updated"]
	assert stored(name)["rows"] == [("B", 2)]
	assert statuses(bulk(api, [{"code": "BR-T", "rows": []}])) == ["updated"]
	assert stored(name)["rows"] == []


def test_a_batch_mixes_created_updated_unchanged_and_failed_as_record_by_record(api):
	(first,) = bulk(api, [{"code": "BR-M1", "qty": 1}])
	results = bulk(
		api,
		[
			{"code": "BR-M1", "qty": 1},
			{"code": "BR-M2", "qty": 2},
			{"code": "BR-M1", "qty": "many"},
			{"code": "BR-M2", "qty": 2},
			{"code": "BR-M1", "qty": 5},
		],
	)
	assert statuses(results) == ["unchanged", "created", "failed", "unchanged", "updated"]
	assert results[2]["error"]["errors"][0]["pointer"] == "/records/2/qty"
	assert results[4]["name"] == first["name"]
	assert frappe.db.get_value(ITEM, first["name"], "qty") == 5


# --- permissions, decided per document by Frappe ---------------------------------------------


def test_a_field_above_the_callers_permlevel_is_refused_on_a_found_document(api, as_user, editor):
	item = ItemFactory(code="BR-COST", cost=10)
	with as_user(editor.name):
		results = bulk(api, [{"code": "BR-COST", "qty": item.qty}, {"code": "BR-COST", "cost": 10}])
	assert statuses(results) == ["unchanged", "failed"]
	assert results[1]["error"]["code"] == "VALIDATION_FAILED"
	assert results[1]["error"]["errors"][0]["pointer"] == "/records/1/cost"


def test_user_permissions_decide_each_found_document(api, as_user, editor):
	mine, theirs = CategoryFactory(), CategoryFactory()
	UserPermissionFactory(user=editor.name, for_value=mine.name)
	visible = ItemFactory(code="BR-MINE", category=mine.name, qty=1)
	hidden = ItemFactory(code="BR-THEIRS", category=theirs.name, qty=1)
	# One the hub wrote (its key's lock row records it), hidden from the editor afterwards.
	(recorded,) = bulk(api, [{"code": "BR-RECORDED", "category": mine.name}])
	frappe.db.set_value(ITEM, recorded["name"], "category", theirs.name)

	with as_user(editor.name):
		results = bulk(
			api,
			[
				{"code": "BR-MINE", "category": mine.name, "qty": 1},
				{"code": "BR-THEIRS", "category": mine.name, "qty": 1},
				{"code": "BR-RECORDED", "qty": 1},
				{"code": "BR-MINE", "category": mine.name, "qty": 2},
			],
		)
	assert statuses(results) == ["unchanged", "failed", "failed", "updated"]
	assert {results[1]["error"]["code"], results[2]["error"]["code"]} == {"PERMISSION_DENIED"}
	assert frappe.db.get_value(ITEM, hidden.name, ["category", "qty"]) == (theirs.name, 1)
	assert frappe.db.count(ITEM, {"code": ["in", ["BR-THEIRS", "BR-RECORDED"]]}) == 2
	assert frappe.db.get_value(ITEM, visible.name, "qty") == 2


def test_a_reader_gets_403_for_unchanged_records_as_for_changed_ones(api, as_user):
	reader = UserFactory(roles=["Hub Test Reader"])
	ItemFactory(code="BR-READ", qty=1)
	with as_user(reader.name):
		status, body = api("bulk_upsert", doctype=ITEM, records=[{"code": "BR-READ", "qty": 1}])
	assert (status, body["code"]) == (403, "PERMISSION_DENIED")


# --- the batch's own rows ----------------------------------------------------------------------


def test_a_record_rolled_back_after_writing_leaves_no_change_or_event(api):
	subscription = HubSubscriptionFactory(condition="1 / (doc.qty - 5) != 0")  # raises for qty 5
	kept, failing = ItemFactory(code="BR-EV1", qty=1), ItemFactory(code="BR-EV2", qty=1)
	changes = {name: stored(name)["changes"] for name in (kept.name, failing.name)}
	deliveries = frappe.db.count("Hub Delivery", {"subscription": subscription.name})

	results = bulk(
		api, [{"code": "BR-EV1", "qty": 3}, {"code": "BR-EV2", "qty": 5}, {"code": "BR-EV3", "qty": 1}]
	)
	assert statuses(results) == ["updated", "failed", "created"]
	assert stored(kept.name)["changes"] == changes[kept.name] + 1
	assert stored(failing.name)["changes"] == changes[failing.name]
	assert frappe.db.get_value(ITEM, failing.name, "qty") == 1
	sent = frappe.get_all(
		"Hub Delivery",
		filters={"subscription": subscription.name},
		fields=["reference_name", "event_type"],
		order_by="name asc",
	)[deliveries:]
	assert [(d.reference_name, d.event_type) for d in sent] == [
		(kept.name, "hub_test_item.updated"),
		(results[2]["name"], "hub_test_item.created"),
	]


def test_created_documents_are_recorded_on_their_keys(api):
	(created,) = bulk(api, [{"code": "BR-KEY"}])
	(again,) = bulk(api, [{"code": "br-key", "title": "found by its lock row"}])
	assert (again["status"], again["name"]) == ("updated", created["name"])


def test_keys_whose_documents_were_deleted_are_created_again_from_the_batchs_reads(api):
	created = bulk(api, [{"code": f"BR-GONE-{i}", "title": "first"} for i in range(5)])
	for result in created:  # the keys' lock rows still record these documents
		frappe.delete_doc(ITEM, result["name"])

	with statements_run() as statements:
		again = bulk(api, [{"code": f"BR-GONE-{i}", "title": "again"} for i in range(5)])

	assert set(statuses(again)) == {"created"}
	assert not {r["name"] for r in again} & {r["name"] for r in created}
	assert [frappe.db.get_value(ITEM, r["name"], "title") for r in again] == ["again"] * 5
	# The recorded documents are read once for the batch and found gone: no per-record lookup of them.
	item_reads = [s for s in statements if s.startswith("select") and "from `tabhub test item`" in s]
	assert len(item_reads) == 2, item_reads  # the recorded documents; the keys' values
	(recorded,) = bulk(api, [{"code": "BR-GONE-0", "title": "found"}])
	assert (recorded["status"], recorded["name"]) == ("updated", again[0]["name"])


# --- Frappe's realtime log ------------------------------------------------------------------------


def test_the_realtime_log_queues_each_message_once_in_order():
	use_indexed_realtime_log()
	log = frappe.local._realtime_log
	assert isinstance(log, RealtimeLog)
	queued = len(log)
	for name in ("a", "b", "a"):
		frappe.publish_realtime("doc_update", {"name": name}, doctype=ITEM, docname=name, after_commit=True)
	for lines in ([1], [2], [1]):  # messages with nested values compare alike too
		frappe.publish_realtime("doc_update", {"name": "c", "lines": lines}, doctype=ITEM, after_commit=True)
	assert [params[1]["name"] for params in log[queued:]] == ["a", "b", "c", "c"]
	assert [params[1].get("lines") for params in log[queued:]] == [None, None, [1], [2]]
	use_indexed_realtime_log()  # again: the same log
	assert frappe.local._realtime_log is log


def test_the_bulk_realtime_log_publishes_what_frappe_would_in_one_round_trip():
	"""The same messages on Frappe's channel, in the same order and envelopes, as Frappe's own flush
	publishes them; read back from the real Redis by a subscriber."""
	marker = frappe.generate_hash(length=10)
	modified = now_datetime()  # encoded by Frappe's json_handler on both sides
	messages = [
		("doc_update", {"name": f"{marker}-{n}", "modified": modified}, f"{marker}-{n}") for n in range(3)
	]
	messages.append(("list_update", {"doctype": ITEM, "name": f"{marker}-0", "user": "a"}, None))
	subscriber = get_redis_connection_without_auth().pubsub(ignore_subscribe_messages=True)
	subscriber.subscribe("events")
	try:
		published = []
		for flush, fresh_log in ((flush_in_one_round_trip, RealtimeLog), (flush_realtime_log, list)):
			frappe.local._realtime_log = fresh_log()
			for event, message, docname in messages:
				frappe.publish_realtime(event, message, doctype=ITEM, docname=docname, after_commit=True)
			flush()
			assert not hasattr(frappe.local, "_realtime_log")
			published.append(_events_with(subscriber, marker, len(messages)))
	finally:
		subscriber.close()
	ours, frappes = (list(map(json.loads, flushed)) for flushed in published)
	assert ours == frappes  # the same messages (ours without frappe.as_json's indentation)
	assert [envelope["message"]["name"] for envelope in ours] == [f"{marker}-{n}" for n in (0, 1, 2, 0)]


def _events_with(subscriber, marker: str, count: int) -> list[str]:
	"""The next `count` messages on the channel that carry `marker` (other processes publish there too)."""
	found, deadline = [], time.monotonic() + 10
	while len(found) < count and time.monotonic() < deadline:
		message = subscriber.get_message(timeout=1)
		if message and marker in message["data"].decode():
			found.append(message["data"].decode())
	return found

"""The outbox: which changes write an event and a delivery, in the writer's own transaction, and what
the payload carries under the subscription's Run As permissions. Every delivery goes to a real
receiver on 127.0.0.1 through the jobs a worker runs (`run_background_jobs`)."""

import json

import pytest

import frappe

from integration_hub.events.subscriptions import (
	SUBSCRIPTIONS_LOCK,
	rebuild_subscription_map,
	subscriptions_for,
)
from integration_hub.exceptions import ConditionFailed
from tests.events.support import commit_and_deliver, deliveries
from tests.factories import (
	CategoryFactory,
	HubSubscriptionFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import AUDITOR_ROLE, ITEM, READER_ROLE
from tests.helpers import statements_run

# --- the outbox -------------------------------------------------------------------------------


def test_a_change_writes_its_event_and_delivery_in_the_same_transaction(subscription):
	item = ItemFactory(title="Outboxed", qty=3)

	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Pending" and delivery.reference_name == item.name
	event = frappe.get_doc("Hub Event", delivery.event)
	assert event.name.startswith("evt_")
	assert event.event_type == "hub_test_item.created"
	payload = json.loads(event.payload)
	assert payload["type"] == "hub_test_item.created"
	assert payload["timestamp"].endswith("Z")
	assert payload["data"]["doctype"] == ITEM and payload["data"]["name"] == item.name
	assert payload["data"]["object"]["title"] == "Outboxed" and payload["data"]["object"]["qty"] == 3
	assert "previous_attributes" not in payload["data"]


def test_hub_event_is_an_immutable_view_of_the_delivery(subscription):
	item = ItemFactory(title="Viewed")
	[delivery] = deliveries(subscription.name)

	[listed] = frappe.get_list("Hub Event", filters={"subscription": subscription.name}, fields=["name"])
	assert listed.name == delivery.event
	assert frappe.get_list("Hub Event", filters={"name": delivery.event}, pluck="name") == [delivery.event]
	event = frappe.get_doc("Hub Event", delivery.event)
	assert event.reference_name == item.name and event.event_type == "hub_test_item.created"
	assert json.loads(event.payload)["data"]["object"]["title"] == "Viewed"
	event.event_type = "forged"
	with pytest.raises(frappe.PermissionError):
		event.save()
	with pytest.raises(frappe.DoesNotExistError):
		frappe.get_doc("Hub Event", "evt_missing")


def test_a_rolled_back_transaction_emits_nothing(committed, receiver, run_background_jobs):
	subscription = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.commit()

	ItemFactory(title="Never happened")
	assert len(deliveries(subscription.name)) == 1  # written, uncommitted
	frappe.db.rollback()

	assert deliveries(subscription.name) == []
	assert frappe.get_list("Hub Event", filters={"subscription": subscription.name}) == []
	assert commit_and_deliver(run_background_jobs) == 0
	assert receiver.received == []


def test_a_change_rolled_back_to_a_savepoint_sends_nothing(subscription, receiver, run_background_jobs):
	frappe.db.savepoint("before_item")
	ItemFactory(title="Undone")
	frappe.db.rollback(save_point="before_item")
	kept = ItemFactory(title="Kept")

	commit_and_deliver(run_background_jobs)

	assert [request.json()["data"]["name"] for request in receiver.received] == [kept.name]


def test_an_update_carries_previous_attributes_and_an_unchanged_save_sends_nothing(subscription):
	item = ItemFactory(title="Before", qty=1)
	item.title = "After"
	item.save()
	item.save()  # nothing changed

	events = [json.loads(frappe.get_doc("Hub Event", d.event).payload) for d in deliveries(subscription.name)]
	assert [event["type"] for event in events] == ["hub_test_item.created", "hub_test_item.updated"]
	assert events[1]["data"]["previous_attributes"] == {"title": "Before"}
	assert events[1]["data"]["object"]["title"] == "After"


def test_delete_sends_the_document_as_it_was(subscription):
	item = ItemFactory(title="Doomed")
	frappe.delete_doc(ITEM, item.name)

	last = deliveries(subscription.name)[-1]
	payload = json.loads(frappe.get_doc("Hub Event", last.event).payload)
	assert payload["type"] == "hub_test_item.deleted"
	assert payload["data"]["object"]["title"] == "Doomed"


SUBMITTABLE = "Hub Test Submittable"


@pytest.fixture(scope="module")
def submittable_doctype(site):
	"""A submittable DocType for submit and cancel events (its DDL commits: made once, before the tests)."""
	if not frappe.db.exists("DocType", SUBMITTABLE):
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": SUBMITTABLE,
				"module": "Integration Hub",
				"custom": 1,
				"is_submittable": 1,
				"autoname": "hash",
				"fields": [
					{"fieldname": "title", "fieldtype": "Data", "label": "Title", "allow_on_submit": 1}
				],
				"permissions": [
					{"role": "System Manager", "read": 1, "write": 1, "create": 1, "submit": 1, "cancel": 1}
				],
			}
		).insert()
		frappe.db.commit()
	return SUBMITTABLE


def test_submit_cancel_and_update_after_submit_send_their_events(submittable_doctype, receiver):
	subscription = HubSubscriptionFactory(
		endpoint_url=receiver.url, document_type=submittable_doctype, send_on_submit=1, send_on_cancel=1
	)
	doc = frappe.get_doc({"doctype": submittable_doctype, "title": "draft"}).insert()
	doc.submit()
	doc.title = "amended after submit"
	doc.save()
	doc.cancel()

	payloads = [
		json.loads(frappe.get_doc("Hub Event", d.event).payload) for d in deliveries(subscription.name)
	]
	prefix = frappe.scrub(submittable_doctype)
	assert [p["type"] for p in payloads] == [
		f"{prefix}.created",
		f"{prefix}.submitted",
		f"{prefix}.updated",
		f"{prefix}.cancelled",
	]
	assert [p["data"]["object"]["docstatus"] for p in payloads] == [0, 1, 1, 2]
	assert payloads[2]["data"]["previous_attributes"] == {"title": "draft"}


def test_only_the_subscribed_events_and_matching_condition_are_sent(receiver):
	subscription = HubSubscriptionFactory(
		endpoint_url=receiver.url, send_on_insert=1, send_on_update=0, condition="doc.qty > 5"
	)
	small = ItemFactory(qty=1)
	big = ItemFactory(qty=10)
	big.title = "changed"
	big.save()

	sent = [d.reference_name for d in deliveries(subscription.name)]
	assert sent == [big.name]
	assert small.name not in sent


def test_a_condition_that_fails_on_a_document_stops_the_change(receiver):
	HubSubscriptionFactory(endpoint_url=receiver.url, condition="doc.title.startswith('A')")
	with pytest.raises(ConditionFailed, match="condition"):
		ItemFactory(title=None)


def test_doctypes_without_subscriptions_write_nothing(subscription):
	frappe.get_doc({"doctype": "ToDo", "description": "no one listens"}).insert()
	assert frappe.db.count("Hub Delivery", {"reference_doctype": "ToDo"}) == 0
	assert subscriptions_for("ToDo") == []


def test_a_write_decides_by_the_map_last_read_only_while_it_is_current(committed, receiver):
	first = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.commit()
	committed.track(ItemFactory())  # its transaction reads the map: this process remembers it
	committed.commit()

	with statements_run() as statements:
		guessed = committed.track(ItemFactory())
	map_reads = [s for s in statements if s.startswith("select") and "`tabhub lock`" in s]
	confirming = [s for s in statements if s.startswith("insert into `tabhub delivery`") and "lock in" in s]
	assert map_reads == [] and len(confirming) == 1  # one statement wrote the event and took the lock
	assert [d.reference_name for d in deliveries(first.name)][-1] == guessed.name
	committed.commit()

	# Changes committed since (one by another process, as far as this one's memory goes).
	second = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	frappe.get_doc("Hub Subscription", first.name).update({"enabled": 0}).save()
	committed.commit()
	after = committed.track(ItemFactory())

	assert after.name not in [d.reference_name for d in deliveries(first.name)]
	assert [d.reference_name for d in deliveries(second.name)] == [after.name]


def test_a_remembered_map_is_known_by_its_content_not_its_version(committed, receiver):
	subscription = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.commit()
	committed.track(ItemFactory())  # this process remembers the map with the subscription
	committed.commit()
	# As a restored backup would leave it: another map under the same version.
	frappe.db.sql(
		"""update `tabHub Lock` set data = '{"subscriptions":[]}' where name = %s""", SUBSCRIPTIONS_LOCK
	)
	committed.on_cleanup(rebuild_subscription_map)
	committed.commit()

	unsubscribed = committed.track(ItemFactory())

	assert unsubscribed.name not in [d.reference_name for d in deliveries(subscription.name)]


def test_the_subscription_map_does_not_outlive_a_rollback(receiver):
	frappe.db.savepoint("subscribe")
	assert subscriptions_for(ITEM) == []
	HubSubscriptionFactory(endpoint_url=receiver.url)
	assert len(subscriptions_for(ITEM)) == 1
	frappe.db.rollback()  # the whole transaction

	assert subscriptions_for(ITEM) == []
	ItemFactory()
	assert frappe.db.count("Hub Delivery", {"reference_doctype": ITEM}) == 0


# --- what the run_as user may see -------------------------------------------------------------


def test_the_payload_never_carries_a_field_run_as_cannot_read(receiver):
	reader = UserFactory(roles=[READER_ROLE])
	auditor = UserFactory(roles=[AUDITOR_ROLE])
	as_reader = HubSubscriptionFactory(endpoint_url=receiver.url, run_as=reader.name)
	as_auditor = HubSubscriptionFactory(endpoint_url=receiver.url, run_as=auditor.name)
	ItemFactory(title="Priced", cost=99)

	def object_of(subscription):
		[delivery] = deliveries(subscription.name)
		return json.loads(frappe.get_doc("Hub Event", delivery.event).payload)["data"]["object"]

	assert "cost" not in object_of(as_reader), "cost is at permlevel 1, which the reader cannot read"
	assert object_of(as_reader)["title"] == "Priced"
	assert object_of(as_auditor)["cost"] == 99


def test_a_change_only_run_as_cannot_see_sends_no_update(receiver):
	reader = UserFactory(roles=[READER_ROLE])
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url, run_as=reader.name)
	item = ItemFactory(cost=1)
	item.cost = 2
	item.save()

	assert len(deliveries(subscription.name)) == 1, "only the insert: the reader cannot see the cost"


def test_a_document_run_as_cannot_read_emits_nothing_for_that_subscription(receiver):
	allowed, other = CategoryFactory(), CategoryFactory()
	reader = UserFactory(roles=[READER_ROLE])
	UserPermissionFactory(user=reader.name, for_value=allowed.name)
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url, run_as=reader.name)

	visible = ItemFactory(category=allowed.name)
	ItemFactory(category=other.name)

	assert [d.reference_name for d in deliveries(subscription.name)] == [visible.name]


def test_the_field_list_narrows_the_payload(receiver):
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url, fields=["title"])
	ItemFactory(title="Narrow", qty=7, notes="private")

	[delivery] = deliveries(subscription.name)
	obj = json.loads(frappe.get_doc("Hub Event", delivery.event).payload)["data"]["object"]
	assert obj["title"] == "Narrow"
	assert "qty" not in obj and "notes" not in obj
	assert {"name", "modified"} <= set(obj)

"""Outbound webhooks: the outbox, signed deliveries, retries, ordering, dead letters and operations.

Every delivery goes to a real HTTP receiver on 127.0.0.1 (`Receiver`, a small threaded server that
only lives for the test) through the same jobs a worker runs (`run_background_jobs`).
"""

import json
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import frappe
from frappe.utils import get_datetime, now_datetime

from integration_hub.events import health, jobs, retention
from integration_hub.events.subscriptions import subscriptions_for
from integration_hub.exceptions import ConditionFailed, InvalidSecret, NotSubscribable
from integration_hub.http_client import ALLOW_PRIVATE_ENDPOINTS, OutboundRequestRefused
from integration_hub.install import INTEGRATION_MANAGER
from integration_hub.webhooks import signing
from tests.factories import (
	CategoryFactory,
	HubSubscriptionFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import AUDITOR_ROLE, ITEM, READER_ROLE

# --- a real webhook receiver ------------------------------------------------------------------


@dataclass
class Received:
	path: str
	headers: dict[str, str]  # lower-case names
	body: bytes

	@property
	def event_id(self) -> str:
		return self.headers["webhook-id"]

	def json(self) -> dict:
		return json.loads(self.body)


class Receiver:
	"""A webhook endpoint on 127.0.0.1 that records every request and answers as told.

	`reply(status, headers, body)` sets the answer to every request; `delay` holds each answer; `gate(n)` holds the first n requests until all n are in
	flight together (proof that n clients were sending at once). It stops itself after MAX_LIFETIME
	seconds and takes at most MAX_REQUESTS requests.
	"""

	MAX_LIFETIME = 300
	MAX_REQUESTS = 5000

	def __init__(self, port: int = 0) -> None:
		self.port = port
		self.received: list[Received] = []
		self.default = (200, {}, b'{"ok":true}')
		self.delay = 0.0
		self.barrier: threading.Barrier | None = None
		self._lock = threading.Lock()
		self._server: ThreadingHTTPServer | None = None
		self._timer: threading.Timer | None = None

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.port}/hook"

	def reply(self, status: int, headers: dict | None = None, body: bytes = b"") -> None:
		self.default = (status, headers or {}, body)

	def gate(self, parties: int, timeout: float = 60) -> None:
		self.barrier = threading.Barrier(parties, timeout=timeout)

	def start(self) -> "Receiver":
		receiver = self

		class Handler(BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"
			disable_nagle_algorithm = True  # headers and body go out at once, as real servers send them

			def do_POST(self):
				body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				index, (status, headers, reply) = receiver._record(self.path, self.headers, body)
				if receiver.delay:
					time.sleep(receiver.delay)
				if receiver.barrier is not None and index < receiver.barrier.parties:
					try:
						receiver.barrier.wait()
					except threading.BrokenBarrierError:
						pass
				self.send_response(status)
				for name, value in headers.items():
					self.send_header(name, value)
				self.send_header("Content-Length", str(len(reply)))
				self.end_headers()
				self.wfile.write(reply)

			def log_message(self, *args):
				pass

		ThreadingHTTPServer.allow_reuse_address = True
		self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
		self._server.daemon_threads = True
		self.port = self._server.server_address[1]
		threading.Thread(
			target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
		).start()
		self._timer = threading.Timer(self.MAX_LIFETIME, self.stop)
		self._timer.daemon = True
		self._timer.start()
		return self

	def _record(self, path, headers, body) -> tuple:
		with self._lock:
			index = len(self.received)
			if index >= self.MAX_REQUESTS:
				return index, (503, {}, b"receiver limit reached")
			self.received.append(Received(path, {k.lower(): v for k, v in headers.items()}, body))
			return index, self.default

	def stop(self) -> None:
		with self._lock:
			server, self._server = self._server, None
		if server is not None:
			server.shutdown()
			server.server_close()
		if self._timer is not None:
			self._timer.cancel()

	def ids(self) -> list[str]:
		return [request.event_id for request in self.received]


@pytest.fixture
def receiver():
	endpoint = Receiver().start()
	yield endpoint
	endpoint.stop()


@pytest.fixture
def subscription(receiver):
	return HubSubscriptionFactory(endpoint_url=receiver.url)


@pytest.fixture
def integration_manager():
	return UserFactory(roles=[INTEGRATION_MANAGER])


def commit_and_deliver(run_background_jobs) -> int:
	"""Commit (inside the test's transaction: its after-commit hooks run) and run the queued jobs."""
	frappe.db.commit()
	return run_background_jobs()


def deliveries(subscription_name: str) -> list[dict]:
	return frappe.get_all(
		"Hub Delivery",
		filters={"subscription": subscription_name},
		fields=[
			"name",
			"event",
			"status",
			"attempt_count",
			"reference_name",
			"next_attempt_at",
			"last_attempt_at",
		],
		order_by="name asc",
	)


def make_due() -> None:
	"""Travel past every scheduled retry (our bookkeeping rows only)."""
	frappe.db.sql(
		"update `tabHub Delivery` set next_attempt_at = %s where status in ('Pending', 'Failed')",
		(now_datetime() - timedelta(seconds=1),),
	)


def secret_of(subscription_name: str) -> str:
	return frappe.get_doc("Hub Subscription", subscription_name).get_password("secret")


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


# --- signed delivery --------------------------------------------------------------------------


def test_the_signature_verifies_with_an_independent_standard_webhooks_implementation(
	subscription, receiver, run_background_jobs
):
	item = ItemFactory(title="Signed")
	assert commit_and_deliver(run_background_jobs) == 1

	[request] = receiver.received
	payload = Webhook(secret_of(subscription.name)).verify(request.body, request.headers)
	assert payload["data"]["name"] == item.name
	assert request.headers["content-type"] == "application/json"
	event = frappe.get_doc("Hub Event", request.event_id)
	assert request.body.decode() == event.payload
	assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 300
	with pytest.raises(WebhookVerificationError):
		Webhook(signing.generate_secret()).verify(request.body, request.headers)
	tampered = request.body.replace(b"Signed", b"Forged")
	with pytest.raises(WebhookVerificationError):
		Webhook(secret_of(subscription.name)).verify(tampered, request.headers)

	delivery = frappe.get_doc("Hub Delivery", {"event": event.name})
	assert delivery.status == "Succeeded" and delivery.attempt_count == 1
	[attempt] = delivery.attempts
	assert attempt.status_code == 200 and attempt.success and attempt.response == '{"ok":true}'
	assert frappe.db.get_value("Hub Subscription", subscription.name, "last_success_at")


def test_the_readme_verification_snippet_accepts_a_delivery_and_rejects_a_forgery(
	subscription, receiver, run_background_jobs
):
	readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
	section = readme[readme.index("### Verifying a delivery") :]
	snippet = section[
		section.index("```python") + len("```python") : section.index("```", section.index("```python") + 3)
	]
	namespace: dict = {}
	exec(snippet, namespace)
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	[request] = receiver.received

	namespace["verify"](secret_of(subscription.name), request.headers, request.body)
	with pytest.raises(ValueError):
		namespace["verify"](secret_of(subscription.name), request.headers, request.body + b" ")
	with pytest.raises(ValueError):
		stale = {**request.headers, "webhook-timestamp": str(int(time.time()) - 301)}
		namespace["verify"](secret_of(subscription.name), stale, request.body)


def test_a_generated_secret_is_whsec_with_at_least_24_random_bytes(subscription):
	secret = secret_of(subscription.name)
	assert secret.startswith("whsec_")
	assert len(signing.secret_key(secret)) >= 24
	assert secret != secret_of(HubSubscriptionFactory().name)


def test_an_invalid_secret_is_refused():
	with pytest.raises(InvalidSecret, match="secret"):
		HubSubscriptionFactory(secret="whsec_" + "c2hvcnQ=")


def test_rotation_signs_with_both_secrets_for_24_hours(
	api, subscription, receiver, run_background_jobs, integration_manager, as_user
):
	old = secret_of(subscription.name)
	with as_user(integration_manager.name):
		status, body = api("rotate_secret", subscription=subscription.name)
	assert status == 200, body
	new = body["message"]["secret"]
	assert new != old and new == secret_of(subscription.name)
	valid_until = get_datetime(body["message"]["previous_secret_valid_until"])
	assert timedelta(hours=23) < valid_until - now_datetime() <= timedelta(hours=24)

	ItemFactory()
	commit_and_deliver(run_background_jobs)
	[request] = receiver.received
	assert len(request.headers["webhook-signature"].split(" ")) == 2
	Webhook(new).verify(request.body, request.headers)
	Webhook(old).verify(request.body, request.headers)

	frappe.db.set_value("Hub Subscription", subscription.name, "previous_secret_expires_at", now_datetime())
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	latest = receiver.received[-1]
	assert len(latest.headers["webhook-signature"].split(" ")) == 1
	Webhook(new).verify(latest.body, latest.headers)
	with pytest.raises(WebhookVerificationError):
		Webhook(old).verify(latest.body, latest.headers)


def test_the_secret_is_never_stored_in_events_or_attempts(subscription, receiver, run_background_jobs):
	receiver.reply(500, body=b"boom")
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	secret = secret_of(subscription.name)
	key = secret.removeprefix("whsec_")
	stored = frappe.db.sql(
		"""select d.payload, a.response from `tabHub Delivery` d
		join `tabHub Delivery Attempt` a on a.parent = d.name
		where d.subscription = %s""",
		(subscription.name,),
	)
	assert stored
	assert all(key not in (text or "") for row in stored for text in row)
	assert frappe.db.get_value("Hub Subscription", subscription.name, "secret") != secret


# --- outcomes, retries and order --------------------------------------------------------------


def test_a_receiver_down_for_a_while_gets_every_event_in_order_with_stable_ids(run_background_jobs):
	down = Receiver().start()
	port = down.port
	down.stop()  # nothing listens on the port: connection refused
	subscription = HubSubscriptionFactory(endpoint_url=f"http://127.0.0.1:{port}/hook")
	items = [ItemFactory(title=f"v1 {n}") for n in range(3)]
	for version in (2, 3):
		for item in items:
			item.title = f"v{version}"
			item.save()
	commit_and_deliver(run_background_jobs)

	states = deliveries(subscription.name)
	assert len(states) == 9
	assert sorted(d.status for d in states) == ["Failed"] * 3 + ["Pending"] * 6, (
		"only each document's first event is tried; the later ones wait for it"
	)

	# The endpoint comes back, first with errors, then healthy.
	receiver = Receiver(port=port).start()
	try:
		receiver.reply(500, body=b"not yet")
		make_due()
		jobs.sweep()
		failed_ids = receiver.ids()
		assert len(failed_ids) == 3

		receiver.reply(200)
		make_due()
		jobs.sweep()
	finally:
		receiver.stop()

	ok = receiver.received[3:]
	assert sorted(r.event_id for r in ok) == sorted(d.event for d in states), "every event arrives once"
	assert set(failed_ids) <= {r.event_id for r in ok}, "a retry carries the same webhook-id"
	for n, item in enumerate(items):
		titles = [r.json()["data"]["object"]["title"] for r in ok if r.json()["data"]["name"] == item.name]
		assert titles == [f"v1 {n}", "v2", "v3"], "one document's events arrive in order"
	assert {d.status for d in deliveries(subscription.name)} == {"Succeeded"}
	for request in ok:
		Webhook(secret_of(subscription.name)).verify(request.body, request.headers)


def test_a_failed_attempt_is_retried_after_the_schedule_with_jitter(
	subscription, receiver, run_background_jobs
):
	receiver.reply(500, body=b"x" * 5000)
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Failed" and delivery.attempt_count == 1
	wait = (get_datetime(delivery.next_attempt_at) - get_datetime(delivery.last_attempt_at)).total_seconds()
	assert 4.5 <= wait <= 5.5
	[attempt] = frappe.get_doc("Hub Delivery", delivery.name).attempts
	assert attempt.status_code == 500 and not attempt.success
	assert len(attempt.response) == 2048, "only the first 2 KB of the response are kept"


@pytest.mark.parametrize(
	("status", "retry_after", "expected"),
	[(429, "120", 120), (503, "30", 30)],
)
def test_retry_after_is_honoured(subscription, receiver, run_background_jobs, status, retry_after, expected):
	receiver.reply(status, {"Retry-After": retry_after})
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Failed"
	wait = (get_datetime(delivery.next_attempt_at) - get_datetime(delivery.last_attempt_at)).total_seconds()
	assert wait == pytest.approx(expected, abs=1)


def test_retry_after_as_an_http_date_is_honoured(subscription, receiver, run_background_jobs):
	from datetime import datetime, timezone
	from email.utils import format_datetime

	receiver.reply(
		429, {"Retry-After": format_datetime(datetime.now(timezone.utc) + timedelta(minutes=10), usegmt=True)}
	)
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	[delivery] = deliveries(subscription.name)
	wait = (get_datetime(delivery.next_attempt_at) - get_datetime(delivery.last_attempt_at)).total_seconds()
	assert wait == pytest.approx(600, abs=3)


def test_410_disables_the_subscription_and_tells_integration_managers(
	subscription, receiver, run_background_jobs, integration_manager
):
	receiver.reply(410)
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	state = frappe.db.get_value(
		"Hub Subscription", subscription.name, ["status", "disabled_reason"], as_dict=True
	)
	assert state.status == "Disabled" and "410" in state.disabled_reason
	assert frappe.db.exists("Error Log", {"reference_name": subscription.name})
	assert frappe.db.exists(
		"Notification Log", {"for_user": integration_manager.name, "document_name": subscription.name}
	)

	ItemFactory()
	assert len(deliveries(subscription.name)) == 1, "a disabled subscription records no new events"
	make_due()
	assert jobs.sweep() == 0 and len(receiver.received) == 1


def test_a_delivery_dies_after_its_last_retry_and_can_be_recovered(
	api, receiver, run_background_jobs, integration_manager, as_user
):
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url, retry_schedule="1s, 2s")
	receiver.reply(500)
	started = now_datetime() - timedelta(seconds=5)
	first, second = ItemFactory(title="first"), ItemFactory(title="second")
	commit_and_deliver(run_background_jobs)
	for _retry in range(2):
		make_due()
		jobs.sweep()

	assert [d.status for d in deliveries(subscription.name)] == ["Dead", "Dead"]
	assert [d.attempt_count for d in deliveries(subscription.name)] == [3, 3]
	assert len(receiver.received) == 6
	make_due()
	assert jobs.sweep() == 0, "dead deliveries are not retried by themselves"

	receiver.reply(200)
	receiver.received.clear()
	with as_user(integration_manager.name):
		status, body = api("recover", subscription=subscription.name, since=str(started))
	assert status == 200, body
	assert body["message"]["deliveries"] == 2
	assert commit_and_deliver(run_background_jobs) == 1  # the recover job

	assert [r.json()["data"]["name"] for r in receiver.received] == [first.name, second.name]
	assert [d.status for d in deliveries(subscription.name)] == ["Succeeded", "Succeeded"]


def test_redeliver_sends_one_delivery_now(
	api, subscription, receiver, run_background_jobs, integration_manager, as_user
):
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	[delivery] = deliveries(subscription.name)

	with as_user(integration_manager.name):
		status, body = api("redeliver", delivery=str(delivery.name))
	assert status == 200, body
	assert body["message"]["success"] and body["message"]["status"] == "Succeeded"
	assert receiver.ids() == [delivery.event, delivery.event]
	attempts = frappe.get_doc("Hub Delivery", delivery.name).attempts
	assert [a.manual for a in attempts] == [0, 1]


def test_send_test_event_reports_the_outcome(api, subscription, receiver, integration_manager, as_user):
	with as_user(integration_manager.name):
		status, body = api("send_test_event", subscription=subscription.name)
	assert status == 200, body
	assert body["message"]["success"] and body["message"]["status_code"] == 200
	[request] = receiver.received
	assert Webhook(secret_of(subscription.name)).verify(request.body, request.headers)["type"] == "hub.test"

	receiver.reply(500, body=b"nope")
	with as_user(integration_manager.name):
		status, body = api("send_test_event", subscription=subscription.name)
	assert status == 200 and not body["message"]["success"]
	assert body["message"]["status_code"] == 500 and body["message"]["response"] == "nope"


@pytest.mark.parametrize(
	("endpoint", "arguments"),
	[
		("redeliver", {"delivery": "1"}),
		("recover", {"subscription": "x", "since": "2026-01-01"}),
		("rotate_secret", {"subscription": "x"}),
		("send_test_event", {"subscription": "x"}),
	],
)
def test_operations_are_for_integration_managers_only(api, as_user, endpoint, arguments):
	outsider = UserFactory(roles=["System Manager"])
	with as_user(outsider.name):
		status, body = api(endpoint, **arguments)
	assert status == 403, body
	assert body["code"] == "PERMISSION_DENIED"


def test_operations_refuse_bad_input(api, as_user, integration_manager, subscription):
	with as_user(integration_manager.name):
		assert api("redeliver", delivery="not-a-number")[0] == 400
		assert api("redeliver", delivery="999999999")[0] == 404
		assert api("rotate_secret", subscription="missing")[0] == 404
		status, body = api("recover", subscription=subscription.name, since="yesterday-ish")
		assert status == 400 and body["errors"][0]["pointer"] == "/since"


def test_recover_refuses_a_disabled_subscription(api, as_user, integration_manager, subscription):
	frappe.db.set_value("Hub Subscription", subscription.name, "status", "Disabled")
	with as_user(integration_manager.name):
		status, body = api("recover", subscription=subscription.name, since="2026-01-01")
	assert status == 409, body


def test_redirects_are_not_followed(subscription, receiver, run_background_jobs):
	receiver.reply(302, {"Location": receiver.url + "/elsewhere"})
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	assert [r.path for r in receiver.received] == ["/hook"]
	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Failed"
	[attempt] = frappe.get_doc("Hub Delivery", delivery.name).attempts
	assert attempt.status_code == 302, "the redirect is the receiver's answer, recorded as such"


def test_a_slow_endpoint_times_out(receiver, run_background_jobs):
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url, timeout_seconds=1)
	receiver.delay = 2
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Failed"
	[attempt] = frappe.get_doc("Hub Delivery", delivery.name).attempts
	assert "Timeout" in attempt.response and not attempt.status_code


# --- subscription health ----------------------------------------------------------------------


def test_failing_for_five_days_disables_and_a_success_resets(subscription, receiver, run_background_jobs):
	now = now_datetime()
	# A streak that started 6 days ago and has failed across more than 12 hours.
	frappe.db.set_value(
		"Hub Subscription",
		subscription.name,
		{
			"failing_since": now - timedelta(days=6),
			"last_failure_at": now - timedelta(days=5),
			"consecutive_failures": 9,
		},
	)
	# A short burst 6 days ago, then silence: not counted.
	burst = HubSubscriptionFactory(endpoint_url=receiver.url)
	frappe.db.set_value(
		"Hub Subscription",
		burst.name,
		{"failing_since": now - timedelta(days=6), "last_failure_at": now - timedelta(days=6, hours=-1)},
	)

	assert health.disable_failing_subscriptions() == [subscription.name]
	assert frappe.db.get_value("Hub Subscription", subscription.name, "status") == "Disabled"
	assert frappe.db.get_value("Hub Subscription", burst.name, "status") == "Active"

	ItemFactory()
	commit_and_deliver(run_background_jobs)
	state = frappe.db.get_value(
		"Hub Subscription",
		burst.name,
		["consecutive_failures", "failing_since", "last_success_at"],
		as_dict=True,
	)
	assert state.consecutive_failures == 0 and state.failing_since is None and state.last_success_at


def test_a_new_failure_after_five_days_of_failures_disables(subscription, receiver, run_background_jobs):
	frappe.db.set_value(
		"Hub Subscription",
		subscription.name,
		{"failing_since": now_datetime() - timedelta(days=5, hours=1), "consecutive_failures": 40},
	)
	receiver.reply(500)
	ItemFactory()
	commit_and_deliver(run_background_jobs)

	state = frappe.db.get_value(
		"Hub Subscription", subscription.name, ["status", "consecutive_failures"], as_dict=True
	)
	assert state.status == "Disabled" and state.consecutive_failures == 41


# --- safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"url",
	[
		"http://127.0.0.1:8000/hook",
		"http://localhost/hook",
		"http://10.0.0.1/hook",
		"http://169.254.169.254/latest",
		"http://[::1]/hook",
		"http://192.168.1.10/hook",
		"http://[::ffff:127.0.0.1]/hook",
	],
)
def test_private_endpoints_are_refused_at_save(monkeypatch, url):
	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)
	with pytest.raises(OutboundRequestRefused):
		HubSubscriptionFactory(endpoint_url=url)


def test_private_endpoints_are_refused_at_send_time(monkeypatch, subscription, receiver, run_background_jobs):
	ItemFactory()
	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)
	commit_and_deliver(run_background_jobs)

	assert receiver.received == [], "nothing was sent to the loopback address"
	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Failed"
	[attempt] = frappe.get_doc("Hub Delivery", delivery.name).attempts
	assert "private address 127.0.0.1" in attempt.response


def test_only_http_urls_are_accepted():
	with pytest.raises(OutboundRequestRefused):
		HubSubscriptionFactory(endpoint_url="ftp://127.0.0.1/hook")


def test_the_hubs_own_records_cannot_be_subscribed():
	with pytest.raises(NotSubscribable, match="cannot be sent"):
		HubSubscriptionFactory(document_type="Hub Delivery")


def test_a_subscription_is_named_by_its_subscription_name():
	subscription = HubSubscriptionFactory(subscription_name="Orders to CRM")
	assert subscription.name == "Orders to CRM"
	with pytest.raises(frappe.DuplicateEntryError):
		HubSubscriptionFactory(subscription_name="Orders to CRM")


def test_the_patch_names_subscriptions_made_before_subscription_name_existed():
	from integration_hub.patches.v0_1 import name_existing_subscriptions

	subscription = HubSubscriptionFactory()
	frappe.db.sql(
		"update `tabHub Subscription` set subscription_name = null where name = %s", subscription.name
	)

	name_existing_subscriptions.execute()

	assert (
		frappe.db.get_value("Hub Subscription", subscription.name, "subscription_name") == subscription.name
	)
	frappe.get_doc("Hub Subscription", subscription.name).save()  # valid again without filling the field


# --- scheduling and retention -----------------------------------------------------------------


def test_the_sweep_is_scheduled_every_minute():
	job = frappe.get_doc("Scheduled Job Type", {"method": "integration_hub.events.jobs.sweep"})
	assert job.frequency == "Cron" and job.cron_format == "* * * * *" and not job.stopped


def test_log_clearing_prunes_old_finished_deliveries_and_their_events(
	subscription, receiver, run_background_jobs
):
	receiver.reply(200)
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	receiver.reply(500)
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	sent, failed = deliveries(subscription.name)
	# Forty days pass (delivery numbers grow with time: everything up to these two is as old).
	frappe.db.sql(
		"update `tabHub Delivery` set creation = %s where name <= %s",
		(now_datetime() - timedelta(days=40), failed.name),
	)
	recent = ItemFactory()
	commit_and_deliver(run_background_jobs)
	kept = deliveries(subscription.name)[-1]

	from frappe.model.base_document import get_controller

	get_controller("Hub Delivery").clear_old_logs(days=30)

	remaining = deliveries(subscription.name)
	assert [d.name for d in remaining] == [failed.name, kept.name], "undelivered and recent work is kept"
	assert not frappe.db.exists("Hub Delivery", {"event": sent.event})
	assert not frappe.db.exists("Hub Delivery Attempt", {"parent": str(sent.name)})
	assert kept.reference_name == recent.name
	assert retention.DEFAULT_RETENTION_DAYS == 30
	assert frappe.get_hooks("default_log_clearing_doctypes")["Hub Delivery"] == [30]

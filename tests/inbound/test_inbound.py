"""Inbound webhooks over real HTTP: each scheme's signatures (computed here, independently of the app),
refusals, deduplication, processing as Run As through the upsert engine, retries, reprocess, limits."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

import frappe
from frappe.utils import add_to_date, now_datetime

from integration_hub.exceptions import InvalidFieldMap, InvalidInboundEndpoint
from integration_hub.inbound import handlers, jobs
from tests.factories import (
	HubInboundEndpointFactory,
	HubResourceFactory,
	HubSubscriptionFactory,
	UserFactory,
)

EVENT = "Hub Inbound Event"
ITEM = "Hub Test Item"
RECEIVE = "/api/method/integration_hub.api.v1.receive"
SCHEMES = ("Standard Webhooks", "Stripe", "GitHub", "Shared Secret Header")


# --- an independent implementation of each sender's signing ----------------------------------------


def standard_webhooks_headers(secret: str, body: bytes, msg_id: str, timestamp: int) -> dict:
	key = base64.b64decode(secret.removeprefix("whsec_"))
	mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
	return {
		"webhook-id": msg_id,
		"webhook-timestamp": str(timestamp),
		"webhook-signature": "v1," + base64.b64encode(mac).decode(),
	}


def stripe_headers(secret: str, body: bytes, timestamp: int) -> dict:
	mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
	return {"Stripe-Signature": f"t={timestamp},v1={mac}"}


def github_headers(secret: str, body: bytes, delivery: str) -> dict:
	mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
	return {"X-Hub-Signature-256": f"sha256={mac}", "X-GitHub-Delivery": delivery, "X-GitHub-Event": "push"}


def signed(scheme: str, secret: str, body: bytes, event_id: str, timestamp: int | None = None) -> dict:
	timestamp = int(time.time()) if timestamp is None else timestamp
	headers = {"Content-Type": "application/json"}
	if scheme == "Standard Webhooks":
		headers.update(standard_webhooks_headers(secret, body, event_id, timestamp))
	elif scheme == "Stripe":
		headers.update(stripe_headers(secret, body, timestamp))
	elif scheme == "GitHub":
		headers.update(github_headers(secret, body, event_id))
	else:
		headers.update({"X-Webhook-Secret": secret, "X-Event-Id": event_id})
	return headers


def secret_for(scheme: str) -> str:
	if scheme == "Standard Webhooks":
		return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
	return "whsec_" + uuid.uuid4().hex if scheme == "Stripe" else uuid.uuid4().hex


def body_for(scheme: str, event_id: str, code: str, title: str, qty: object = 3) -> bytes:
	record = {"code": code, "title": title, "qty": qty}
	if scheme == "Stripe":  # Stripe's shape: the id at the top, the object inside
		return json.dumps({"id": event_id, "type": "item.updated", "data": {"object": record}}).encode()
	return json.dumps(record).encode()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def make_endpoint(committed):
	"""Commit an endpoint (the web server must see it); its events and it are deleted afterwards."""

	def make(scheme: str = "Standard Webhooks", **values):
		secret = values.pop("secret", None) or secret_for(scheme)
		values.setdefault("records_path", "data.object" if scheme == "Stripe" else "")
		if scheme == "Shared Secret Header":
			values.setdefault("event_id_header", "X-Event-Id")
		endpoint = HubInboundEndpointFactory(verification=scheme, secret=secret, **values)
		committed.commit()

		def cleanup():
			frappe.db.delete(EVENT, {"endpoint": endpoint.name})
			frappe.delete_doc("Hub Inbound Endpoint", endpoint.name, force=True, ignore_permissions=True)

		committed.on_cleanup(cleanup)
		endpoint.flags.plain_secret = secret
		return endpoint

	return make


@pytest.fixture
def make_user(committed):
	def make(*roles: str):
		user = UserFactory(roles=list(roles))
		committed.commit()
		committed.on_cleanup(
			lambda: frappe.delete_doc("User", user.name, force=True, ignore_permissions=True)
		)
		return user.name

	return make


@pytest.fixture
def post(http, committed):
	"""POST to `receive`, then start a new transaction: the server committed the event on its own
	connection, which the test's older snapshot would not see. Items the tests map are deleted after."""
	committed.on_cleanup(lambda: frappe.db.delete(ITEM, {"code": ("like", "INB-%")}))

	def send(endpoint, body: bytes, headers: dict):
		response = http().post(f"{RECEIVE}?endpoint={endpoint.name}", data=body, headers=headers)
		committed.commit()
		return response

	return send


def events_of(endpoint) -> list:
	return frappe.get_all(EVENT, filters={"endpoint": endpoint.name}, fields=["*"], order_by="creation")


def fresh_code() -> str:
	return f"INB-{uuid.uuid4().hex[:10]}"


# --- receiving and processing ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_signed_event_creates_then_updates_the_mapped_document_as_run_as(
	http, post, make_endpoint, make_user, run_background_jobs, scheme
):
	editor = make_user("Hub Test Editor")
	endpoint = make_endpoint(scheme, run_as=editor)
	secret, code = endpoint.flags.plain_secret, fresh_code()

	body = body_for(scheme, "evt-1-" + code, code, "First title", "4")
	response = post(endpoint, body, signed(scheme, secret, body, "evt-1-" + code))
	assert response.status_code == 202, response.text
	assert response.json()["message"]["status"] == "queued"
	[event] = events_of(endpoint)
	assert event.status == "Queued"
	assert event.body == body.decode()

	assert run_background_jobs() >= 1
	item = frappe.get_doc(ITEM, {"code": code})
	assert (item.title, item.qty, item.owner) == ("First title", 4, editor)
	event = frappe.get_doc(EVENT, event.name)
	assert (event.status, event.attempts) == ("Processed", 1)
	assert f"created {ITEM} {item.name}" in event.result

	body = body_for(scheme, "evt-2-" + code, code, "Second title")
	response = post(endpoint, body, signed(scheme, secret, body, "evt-2-" + code))
	assert response.status_code == 202, response.text
	run_background_jobs()
	item.reload()
	assert (item.title, item.modified_by) == ("Second title", editor)
	assert frappe.db.count(ITEM, {"code": code}) == 1


def test_what_an_event_writes_carries_its_name_as_request_id(
	committed, post, make_endpoint, run_background_jobs
):
	committed.track(HubResourceFactory())  # items exposed: their writes enter the change feed
	endpoint, code = make_endpoint("Standard Webhooks"), fresh_code()  # commits both
	body = body_for("Standard Webhooks", "evt-trace-" + code, code, "Traced")
	response = post(
		endpoint, body, signed("Standard Webhooks", endpoint.flags.plain_secret, body, "evt-trace-" + code)
	)
	assert response.status_code == 202, response.text

	assert run_background_jobs() >= 1
	[event] = events_of(endpoint)
	assert event.status == "Processed", event.error
	item = frappe.db.get_value(ITEM, {"code": code})
	changes = frappe.get_all("Hub Change", filters={"docname": item}, pluck="request_id")
	assert changes == [f"inbound-event:{event.name}"]


def test_an_event_of_several_records_writes_all_of_them_or_none(
	committed, post, make_endpoint, run_background_jobs
):
	committed.track(HubResourceFactory())  # items exposed: their writes enter the change feed
	subscription = committed.track(HubSubscriptionFactory(condition="1 / (doc.qty - 5) != 0"))  # raises at 5
	committed.on_cleanup(lambda: frappe.db.delete("Hub Delivery", {"subscription": subscription.name}))
	endpoint = make_endpoint("Standard Webhooks")  # commits them all: the web server must not wait for them
	codes = [fresh_code() for _ in range(3)]

	def send(event_id: str, quantities: list[int]):
		records = [
			{"code": code, "title": "One of several", "qty": qty}
			for code, qty in zip(codes, quantities, strict=True)
		]
		body = json.dumps(records).encode()
		secret = endpoint.flags.plain_secret
		assert post(endpoint, body, signed("Standard Webhooks", secret, body, event_id)).status_code == 202
		assert run_background_jobs() >= 1
		return events_of(endpoint)[-1]

	def written(event) -> tuple[list, list, int]:
		names = frappe.get_all(ITEM, filters={"code": ["in", codes]}, pluck="name")
		changes = frappe.get_all(
			"Hub Change", filters={"request_id": f"inbound-event:{event.name}"}, pluck="docname"
		)
		return (
			sorted(names),
			sorted(changes),
			frappe.db.count("Hub Delivery", {"subscription": subscription.name}),
		)

	failed = send("several-1-" + codes[0], [1, 5, 2])  # the second record's event condition raises
	assert failed.status != "Processed" and "condition" in failed.error
	assert written(failed) == ([], [], 0)

	processed = send("several-2-" + codes[0], [1, 2, 3])
	assert processed.status == "Processed", processed.error
	names, changes, deliveries = written(processed)
	assert len(names) == 3 and changes == names and deliveries == 3


def test_stored_headers_carry_no_signature_or_secret(http, post, make_endpoint):
	for scheme in ("Standard Webhooks", "Shared Secret Header"):
		endpoint = make_endpoint(scheme)
		body = body_for(scheme, "e1", fresh_code(), "t")
		headers = signed(scheme, endpoint.flags.plain_secret, body, "e1")
		assert post(endpoint, body, headers).status_code == 202
		[event] = events_of(endpoint)
		stored = {name.lower() for name in json.loads(event.headers)}
		assert "content-type" in stored
		assert not stored & {"webhook-signature", "x-webhook-secret"}
		assert endpoint.flags.plain_secret not in event.headers


def _tampered(scheme, secret, body, event_id):
	return body.replace(b'"title": "t"', b'"title": "T"'), signed(scheme, secret, body, event_id)


def _wrong_secret(scheme, secret, body, event_id):
	return body, signed(scheme, secret_for(scheme), body, event_id)


def _stale(scheme, secret, body, event_id):
	return body, signed(scheme, secret, body, event_id, timestamp=int(time.time()) - 301)


def _missing_header(scheme, secret, body, event_id):
	headers = signed(scheme, secret, body, event_id)
	for name in ("webhook-signature", "Stripe-Signature", "X-Hub-Signature-256", "X-Webhook-Secret"):
		headers.pop(name, None)
	return body, headers


REFUSALS = [
	*[(scheme, _tampered) for scheme in SCHEMES if scheme != "Shared Secret Header"],
	*[(scheme, _wrong_secret) for scheme in SCHEMES],
	("Standard Webhooks", _stale),
	("Stripe", _stale),
	*[(scheme, _missing_header) for scheme in SCHEMES],
]


@pytest.mark.parametrize(("scheme", "forge"), REFUSALS, ids=[f"{s}-{f.__name__[1:]}" for s, f in REFUSALS])
def test_a_bad_signature_is_refused_with_401_and_stores_nothing_but_a_counter(
	http, post, make_endpoint, run_background_jobs, scheme, forge
):
	endpoint = make_endpoint(scheme)
	code = fresh_code()
	body, headers = forge(
		scheme, endpoint.flags.plain_secret, body_for(scheme, "e-" + code, code, "t"), "e-" + code
	)
	response = post(endpoint, body, headers)
	assert response.status_code == 401, response.text
	assert response.headers["Content-Type"].startswith("application/problem+json")
	assert response.json()["code"] == "INVALID_SIGNATURE"
	assert events_of(endpoint) == []
	assert run_background_jobs() == 0
	assert not frappe.db.exists(ITEM, {"code": code})
	assert frappe.db.get_value("Hub Inbound Endpoint", endpoint.name, "rejected_count") == 1


def test_a_timestamp_within_tolerance_is_accepted(http, post, make_endpoint):
	endpoint = make_endpoint("Stripe")
	body = body_for("Stripe", "evt-old", fresh_code(), "t")
	headers = signed("Stripe", endpoint.flags.plain_secret, body, "evt-old", timestamp=int(time.time()) - 240)
	assert post(endpoint, body, headers).status_code == 202


def test_the_same_event_delivered_three_times_has_one_effect(http, post, make_endpoint, run_background_jobs):
	endpoint = make_endpoint("Standard Webhooks")
	code = fresh_code()
	body = body_for("Standard Webhooks", "msg_same", code, "Once")
	statuses = []
	for _ in range(3):  # a redelivery is signed afresh, with a new timestamp, as senders do
		statuses.append(
			post(
				endpoint,
				body,
				signed("Standard Webhooks", endpoint.flags.plain_secret, body, "msg_same"),
			)
		)
	assert [r.status_code for r in statuses] == [202, 200, 200]
	assert [r.json()["message"]["status"] for r in statuses] == ["queued", "duplicate", "duplicate"]
	assert len({r.json()["message"]["event"] for r in statuses}) == 1
	assert len(events_of(endpoint)) == 1
	assert run_background_jobs() == 1
	assert frappe.db.count(ITEM, {"code": code}) == 1


def test_unknown_and_disabled_endpoints_answer_404(http, post, make_endpoint):
	endpoint = make_endpoint("GitHub", enabled=0)
	body = b"{}"
	headers = signed("GitHub", endpoint.flags.plain_secret, body, "d1")
	assert post(endpoint, body, headers).status_code == 404
	assert http().post(f"{RECEIVE}?endpoint=no-such-endpoint", data=body, headers=headers).status_code == 404
	assert events_of(endpoint) == []


def test_a_body_over_the_limit_is_refused_with_413(http, post, make_endpoint):
	endpoint = make_endpoint("GitHub")
	body = json.dumps({"code": "x", "pad": "x" * (1024 * 1024)}).encode()
	response = post(endpoint, body, signed("GitHub", endpoint.flags.plain_secret, body, "big"))
	assert response.status_code == 413, response.text[:300]
	assert events_of(endpoint) == []


def test_the_rate_limit_answers_429_with_retry_after(http, post, make_endpoint):
	endpoint = make_endpoint("GitHub", rate_limit_per_minute=2)
	secret = endpoint.flags.plain_secret
	answers = []
	for n in range(3):
		body = body_for("GitHub", f"r{n}", fresh_code(), "t")
		answers.append(post(endpoint, body, signed("GitHub", secret, body, f"r{n}")))
	assert [r.status_code for r in answers] == [202, 202, 429]
	assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
	assert len(events_of(endpoint)) == 2


def test_run_as_without_create_permission_fails_the_event_visibly(
	http, post, make_endpoint, make_user, run_background_jobs
):
	reader = make_user("Hub Test Reader")
	endpoint = make_endpoint("GitHub", run_as=reader)
	code = fresh_code()
	body = body_for("GitHub", "p1", code, "Not allowed")
	assert post(endpoint, body, signed("GitHub", endpoint.flags.plain_secret, body, "p1")).status_code == 202
	run_background_jobs()
	[event] = events_of(endpoint)
	assert (event.status, event.attempts, event.next_attempt_at) == ("Failed", 1, None)
	assert "OperationNotPermitted" in event.error
	assert not frappe.db.exists(ITEM, {"code": code})


def test_a_record_that_does_not_map_fails_without_writing(http, post, make_endpoint, run_background_jobs):
	endpoint = make_endpoint("GitHub")
	code = fresh_code()
	body = body_for("GitHub", "m1", code, "t", qty="12abc")
	assert post(endpoint, body, signed("GitHub", endpoint.flags.plain_secret, body, "m1")).status_code == 202
	run_background_jobs()
	[event] = events_of(endpoint)
	assert event.status == "Failed"
	assert "/qty" in event.error
	assert not frappe.db.exists(ITEM, {"code": code})


# --- handlers, retries, reprocess ------------------------------------------------------------------

HANDLER_CALLS: list[tuple[object, str, str]] = []
HANDLER_FAILS = {"now": True}


def recording_handler(payload, event):
	HANDLER_CALLS.append((payload, event.name, frappe.session.user))
	if HANDLER_FAILS["now"]:
		raise RuntimeError("the shop's API is down")
	frappe.get_doc({"doctype": ITEM, "code": payload["code"], "title": "from handler"}).insert()
	return "stored"


@pytest.fixture
def test_handler(monkeypatch):
	HANDLER_CALLS.clear()
	HANDLER_FAILS["now"] = True
	# An app would register it in its hooks.py; `tests` is not an installed app, so frappe.get_attr
	# would refuse its path: the registry and the loader are pointed at this module instead.
	monkeypatch.setattr(handlers, "registered_handlers", lambda: {"record": f"{__name__}.recording_handler"})
	monkeypatch.setattr(handlers, "load", lambda path: recording_handler)
	return HANDLER_CALLS


def test_a_failing_handler_is_retried_then_failed_and_succeeds_after_reprocess(
	http, post, api, make_endpoint, make_user, run_background_jobs, test_handler
):
	editor = make_user("Hub Test Editor")
	endpoint = make_endpoint("Standard Webhooks", action="Call Handler", handler="record", run_as=editor)
	code = fresh_code()
	body = json.dumps({"code": code}).encode()
	headers = signed("Standard Webhooks", endpoint.flags.plain_secret, body, "msg_h")
	assert post(endpoint, body, headers).status_code == 202
	[event] = events_of(endpoint)

	run_background_jobs()
	first = frappe.get_doc(EVENT, event.name)
	assert (first.status, first.attempts) == ("Queued", 1)
	assert "RuntimeError: the shop's API is down" in first.error
	delay = (first.next_attempt_at - now_datetime()).total_seconds()
	assert 50 < delay <= 60

	jobs.sweep_due_events()
	frappe.db.commit()  # a no-op in tests that still enqueues the after-commit jobs
	assert run_background_jobs() == 0  # not due yet

	expected_delays = [300, 1800, 7200, None]
	for attempt, expected in enumerate(expected_delays, start=2):
		frappe.db.set_value(EVENT, event.name, "next_attempt_at", add_to_date(now_datetime(), seconds=-1))
		jobs.sweep_due_events()
		frappe.db.commit()
		assert run_background_jobs() == 1
		state = frappe.get_doc(EVENT, event.name)
		assert state.attempts == attempt
		if expected is None:
			assert (state.status, state.next_attempt_at) == ("Failed", None)
			assert "no retry left" in state.error
		else:
			assert state.status == "Queued"
			assert expected - 10 < (state.next_attempt_at - now_datetime()).total_seconds() <= expected
	assert len(test_handler) == 5
	assert {call[2] for call in test_handler} == {editor}
	assert test_handler[0][0] == {"code": code}
	assert not frappe.db.exists(ITEM, {"code": code})

	HANDLER_FAILS["now"] = False
	status, answer = api("reprocess", event=event.name)
	assert status == 200, answer
	assert answer["message"] == {"event": event.name, "status": "Queued"}
	frappe.db.commit()
	assert run_background_jobs() == 1
	done = frappe.get_doc(EVENT, event.name)
	assert (done.status, done.attempts, done.error) == ("Processed", 1, None)
	assert "stored" in done.result
	assert frappe.get_value(ITEM, {"code": code}, "owner") == editor


def test_reprocess_is_for_integration_managers(api, as_user, make_user):
	nobody = make_user("Hub Test Editor")
	with as_user(nobody):
		status, _ = api("reprocess", event="whatever")
	assert status == 403
	status, body = api("reprocess", event="no-such-event")
	assert status == 404, body


def test_an_unregistered_handler_is_refused_on_save():
	with pytest.raises(InvalidInboundEndpoint, match="No inbound handler"):
		HubInboundEndpointFactory(action="Call Handler", handler="not-registered")


def test_a_map_without_a_key_is_refused_on_save():
	with pytest.raises(InvalidFieldMap, match="Tick Key"):
		HubInboundEndpointFactory(field_map=[("code", "code", "", "", 0)])


def test_retention_clears_old_finished_events_through_log_settings():
	from frappe.core.doctype.log_settings.log_settings import _supports_log_clearing

	assert frappe.get_hooks("default_log_clearing_doctypes")["Hub Inbound Event"] == [30]
	assert _supports_log_clearing(EVENT)
	endpoint = HubInboundEndpointFactory()
	old = add_to_date(now_datetime(), days=-31)
	names = {}
	for status in ("Processed", "Failed", "Queued"):
		event = frappe.get_doc(
			{
				"doctype": EVENT,
				"endpoint": endpoint.name,
				"event_id": status,
				"dedupe_key": uuid.uuid4().hex,
				"status": status,
				"received_at": old,
				"body": "{}",
			}
		).insert(ignore_permissions=True)
		names[status] = event.name
	recent = frappe.get_doc(
		{
			"doctype": EVENT,
			"endpoint": endpoint.name,
			"event_id": "new",
			"dedupe_key": uuid.uuid4().hex,
			"status": "Processed",
			"received_at": now_datetime(),
			"body": "{}",
		}
	).insert(ignore_permissions=True)
	from integration_hub.integration_hub.doctype.hub_inbound_event.hub_inbound_event import HubInboundEvent

	HubInboundEvent.clear_old_logs(days=30)
	assert not frappe.db.exists(EVENT, names["Processed"])
	assert not frappe.db.exists(EVENT, names["Failed"])
	assert frappe.db.exists(EVENT, names["Queued"])
	assert frappe.db.exists(EVENT, recent.name)


def test_a_verified_body_that_is_not_json_is_refused_when_its_event_id_is_in_the_body(
	http, post, make_endpoint
):
	endpoint = make_endpoint("Stripe")
	body = b"{not json"
	response = post(endpoint, body, signed("Stripe", endpoint.flags.plain_secret, body, "x"))
	assert response.status_code == 400, response.text
	assert response.headers["Content-Type"].startswith("application/problem+json")
	assert events_of(endpoint) == []


def test_handlers_come_from_the_apps_hooks_and_the_sweep_is_scheduled():
	assert handlers.registered_handlers() == {
		name: paths[-1] for name, paths in frappe.get_hooks(handlers.HOOK, {}).items()
	}
	assert (
		"integration_hub.inbound.jobs.sweep_due_events"
		in frappe.get_hooks("scheduler_events")["cron"]["* * * * *"]
	)


def test_a_new_event_with_the_same_content_leaves_the_document_unchanged(
	post, make_endpoint, run_background_jobs
):
	endpoint = make_endpoint("GitHub")
	code = fresh_code()
	body = body_for("GitHub", "same", code, "Same", 2)
	for delivery in ("u1", "u2"):
		assert (
			post(endpoint, body, signed("GitHub", endpoint.flags.plain_secret, body, delivery)).status_code
			== 202
		)
		run_background_jobs()
	first, second = events_of(endpoint)
	assert first.result.startswith(f"created {ITEM}")
	assert second.result.startswith(f"unchanged {ITEM}")
	assert second.status == "Processed"


def test_standard_webhooks_accepts_any_of_several_signatures_during_a_rotation(post, make_endpoint):
	endpoint = make_endpoint("Standard Webhooks")
	body = body_for("Standard Webhooks", "rot", fresh_code(), "t")
	headers = signed("Standard Webhooks", endpoint.flags.plain_secret, body, "msg_rot")
	other = signed("Standard Webhooks", secret_for("Standard Webhooks"), body, "msg_rot")
	headers["webhook-signature"] = f"{other['webhook-signature']} {headers['webhook-signature']}"
	assert post(endpoint, body, headers).status_code == 202


@pytest.mark.parametrize("depth", [60, 1_200, 20_000])
def test_a_deeply_nested_body_is_refused_with_400_and_stores_nothing(post, make_endpoint, depth):
	endpoint = make_endpoint()
	body = ('{"code": "INB-DEEP", "title": ' + "[" * depth + "]" * depth + "}").encode()
	response = post(
		endpoint, body, signed("Standard Webhooks", endpoint.flags.plain_secret, body, "evt_deep")
	)
	assert response.status_code == 400, response.text
	assert "nested" in response.json()["detail"]
	assert events_of(endpoint) == []

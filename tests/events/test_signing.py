"""Signed deliveries: Standard Webhooks signatures checked by an independent implementation, the
README's snippet, secrets and their rotation."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import frappe
from frappe.utils import get_datetime, now_datetime

from integration_hub.exceptions import InvalidSecret
from integration_hub.webhooks import signing
from tests.events.support import commit_and_deliver, secret_of
from tests.factories import (
	HubSubscriptionFactory,
	ItemFactory,
)

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
	readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
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

"""What an Integration Manager does by hand (redeliver, send a test event, recover), over the API,
and that nobody else may."""

import pytest
from standardwebhooks.webhooks import Webhook

import frappe

from tests.events.support import commit_and_deliver, deliveries, secret_of
from tests.factories import (
	ItemFactory,
	UserFactory,
)


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

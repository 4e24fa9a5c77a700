"""Outcomes, retries and order: a receiver that fails, slows down or goes away gets every event in
order, retried on schedule (and as Retry-After asks), dead letters recovered; redirects and slow
endpoints."""

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

import frappe
from frappe.utils import get_datetime, now_datetime

from integration_hub.events import jobs
from tests.events.support import Receiver, commit_and_deliver, deliveries, make_due, secret_of
from tests.factories import (
	HubSubscriptionFactory,
	ItemFactory,
)

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

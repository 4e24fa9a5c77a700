"""Subscriptions: health (disabled after five days of failures, reset by a success), private and
non-http endpoints refused, names, and what cannot be subscribed."""

from datetime import timedelta

import pytest

import frappe
from frappe.utils import now_datetime

from integration_hub.events import health
from integration_hub.exceptions import NotSubscribable
from integration_hub.http_client import ALLOW_PRIVATE_ENDPOINTS, OutboundRequestRefused
from tests.events.support import commit_and_deliver, deliveries
from tests.factories import (
	HubSubscriptionFactory,
	ItemFactory,
)

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

"""The sweep on the scheduler, and retention of finished deliveries through Log Settings."""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from integration_hub.events import retention
from tests.events.support import commit_and_deliver, deliveries
from tests.factories import (
	ItemFactory,
)

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

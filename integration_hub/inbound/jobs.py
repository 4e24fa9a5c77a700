"""The background side of inbound events: the RQ job of each event, and the scheduled sweep that
enqueues due retries and events whose job was lost (a worker killed, Redis restarted)."""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

PROCESS_JOB = "integration_hub.inbound.processing.process_event"
LOST_JOB_AFTER = timedelta(minutes=10)


def enqueue_processing(name: str) -> None:
	frappe.enqueue(
		PROCESS_JOB,
		queue="default",
		timeout=300,
		job_id=f"integration_hub:inbound:{name}",
		deduplicate=True,
		enqueue_after_commit=True,
		inbound_event=name,
	)


def sweep_due_events() -> None:
	"""Scheduled every minute: enqueue the retries that are due and events whose job was lost."""
	now = now_datetime()
	names = frappe.db.sql(
		"""select name from `tabHub Inbound Event`
		where status = 'Queued'
			and (next_attempt_at <= %(now)s or (next_attempt_at is null and received_at <= %(lost)s))
		order by received_at limit 1000""",
		{"now": now, "lost": now - LOST_JOB_AFTER},
		pluck=True,
	)
	for name in names:
		enqueue_processing(name)

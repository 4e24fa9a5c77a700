"""Background jobs and the scheduled sweep: the edges of event delivery, which own their transactions.

Deliveries are claimed, sent and recorded CLAIM_BATCH at a time, in one short transaction per batch
(a commit is a disk flush, and one claim and two writes per batch instead of per delivery keep the
worker near the speed of a bare HTTP loop). A crash loses at most the attempts of the batch in flight,
which are then sent again: delivery is at-least-once, and the unchanged `webhook-id` lets receivers
drop a duplicate.
"""

import time

import frappe

from integration_hub.events import controls, delivery, health, outbox
from integration_hub.operations import activity

# Leave the queue's 300 s job timeout room for the attempt in flight (at most 60 s).
TIME_BUDGET_SECONDS = 200
BATCH = 100
CLAIM_BATCH = 10


def deliver() -> int:
	"""Queued right after a commit that wrote deliveries (commits made while it waits in the queue do not
	queue another): send every due delivery. Returns how many attempts were made.

	A writer that saw the wake marker a moment before this job cleared it does not queue another job
	(events/outbox.py), so the job looks once more DELIVERY_JOB_LOOKS_SECONDS after clearing it."""
	covered_after = outbox.delivery_job_started() + outbox.DELIVERY_JOB_LOOKS_SECONDS
	attempts = 0
	while True:
		frappe.db.commit()  # a fresh snapshot: everything committed before now is visible
		looked_at = time.monotonic()
		attempts += send_due()
		if looked_at >= covered_after:
			return attempts
		time.sleep(max(0.0, covered_after - time.monotonic()))


def sweep() -> int:
	"""Every minute: disable subscriptions failing for 5 days, then send every due delivery. Several
	sweeps and jobs may run at once on several machines."""
	health.disable_failing_subscriptions()
	frappe.db.commit()
	return send_due()


def recover(subscription: str, since: str) -> int:
	"""Send a subscription's failed and dead deliveries since `since` again, in event order."""
	names = controls.deliveries_to_recover(subscription, since)
	delivery.make_due(names)
	frappe.db.commit()
	return send_due(subscription)


def send_due(subscription: str | None = None) -> int:
	"""Send due deliveries, each document's in order, until none is left or the time budget is spent."""
	deadline = time.monotonic() + TIME_BUDGET_SECONDS
	attempts = 0
	with delivery.Sender() as sender:
		while time.monotonic() < deadline:
			heads = delivery.due_heads(BATCH, subscription=subscription)
			frappe.db.commit()  # the next reads see what other workers committed meanwhile
			sent = 0
			for start in range(0, len(heads), CLAIM_BATCH):
				if time.monotonic() >= deadline:
					break
				sent += len(sender.deliver_batch(heads[start : start + CLAIM_BATCH], deadline=deadline))
				frappe.db.commit()
			attempts += sent
			if not sent:  # nothing due, or all of it being sent by other workers
				break
	if attempts or delivery.pending_count():
		activity.keep_site_awake()
		frappe.db.commit()
	return attempts

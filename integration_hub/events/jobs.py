"""Background jobs and the scheduled sweep: the edges of event delivery, which own their transactions.

Each delivery is claimed, sent and recorded in its own short transaction (committed right after its
attempt), so a crash loses at most the attempt in flight, which is then sent again: delivery is
at-least-once, and the unchanged `webhook-id` lets receivers drop the duplicate.
"""

import time
from collections import deque

import frappe

from integration_hub.events import activity, delivery, health, operations

# Leave the queue's 300 s job timeout room for the attempt in flight (at most 60 s).
TIME_BUDGET_SECONDS = 200
SWEEP_BATCH = 100


def deliver(deliveries: list[int]) -> int:
	"""Send a committed transaction's deliveries now (enqueued right after that commit), and each
	document's next deliveries as the earlier ones finish. Returns how many attempts were made."""
	deadline = time.monotonic() + TIME_BUDGET_SECONDS
	queue = deque(int(name) for name in deliveries)
	attempts = 0
	with delivery.Sender() as sender:
		while queue and time.monotonic() < deadline:
			result = sender.deliver(queue.popleft())
			frappe.db.commit()
			if result:
				attempts += 1
				if result.next_in_chain:
					queue.appendleft(result.next_in_chain)
	if attempts:
		activity.keep_site_awake()
		frappe.db.commit()
	return attempts


def sweep(subscription: str | None = None) -> int:
	"""Every minute: disable subscriptions failing for 5 days, then send every due delivery, first
	documents' earliest events first. Several sweeps and jobs may run at once on several machines."""
	if subscription is None:
		health.disable_failing_subscriptions()
		frappe.db.commit()
	deadline = time.monotonic() + TIME_BUDGET_SECONDS
	attempts = 0
	with delivery.Sender() as sender:
		while time.monotonic() < deadline:
			heads = delivery.due_heads(SWEEP_BATCH, subscription=subscription)
			frappe.db.commit()  # the next reads see what other workers committed meanwhile
			sent = 0
			queue = deque(heads)
			while queue and time.monotonic() < deadline:
				result = sender.deliver(queue.popleft())
				frappe.db.commit()
				if result:
					sent += 1
					if result.next_in_chain:
						queue.appendleft(result.next_in_chain)
			attempts += sent
			if not sent:  # nothing due, or all of it being sent by other workers
				break
	if delivery.pending_count():
		activity.keep_site_awake()
		frappe.db.commit()
	return attempts


def recover(subscription: str, since: str) -> int:
	"""Send a subscription's failed and dead deliveries since `since` again, in event order."""
	names = operations.deliveries_to_recover(subscription, since)
	delivery.make_due(names)
	frappe.db.commit()
	return sweep(subscription=subscription)

"""Scheduled tasks: each is an edge that owns its transaction."""

import frappe

from integration_hub import locks
from integration_hub.documents import changes, idempotency


def position_committed_changes(max_batches: int = 100) -> None:
	"""Give change-feed positions to every change committed so far, in short transactions."""
	with changes.sequencer_lock():
		frappe.db.commit()  # a fresh snapshot, taken after the previous sequencer committed
		for _batch in range(max_batches):
			stamped = changes.stamp_committed_changes()
			frappe.db.commit()
			if stamped < changes.STAMP_BATCH:
				break


def prune_idempotency_keys() -> None:
	idempotency.prune_expired_keys()
	frappe.db.commit()


def prune_change_log() -> None:
	changes.prune_change_log()
	frappe.db.commit()


def prune_key_locks() -> None:
	locks.prune_key_locks()
	frappe.db.commit()

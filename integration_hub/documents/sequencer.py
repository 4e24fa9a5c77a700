"""The change feed's sequencer: feed positions (`seq`) for committed changes, in commit order.

The sequencer commits: it hands positions out in short transactions of its own, under a database-wide
lock, so that every web and worker process agrees on one order and no reader ever sees a position
given to a change that has not committed. It is called only by edges, before they do any work of
their own: the scheduled task (every few minutes), the `changes` endpoint (so a reader sees what has
just committed), and a Push run (so it sends what has just committed).
"""

from contextlib import contextmanager

import frappe
from frappe import _

SEQUENCER_LOCK = "integration_hub_change_sequencer"
SEQUENCER_LOCK_TIMEOUT = 10
STAMP_BATCH = 5000


def position_committed_changes(max_batches: int = 100) -> None:
	"""Give change-feed positions to every change committed so far, in short transactions (commits)."""
	with sequencer_lock():
		frappe.db.commit()  # a fresh snapshot, taken after the previous sequencer committed
		for _batch in range(max_batches):
			stamped = stamp_committed_changes()
			frappe.db.commit()
			if stamped < STAMP_BATCH:
				break


@contextmanager
def sequencer_lock():
	"""Serialise sequencers across every web and worker process; the caller commits inside it."""
	acquired = frappe.db.sql("select get_lock(%s, %s)", (SEQUENCER_LOCK, SEQUENCER_LOCK_TIMEOUT))[0][0]
	if not acquired:
		raise frappe.QueryTimeoutError(_("The change feed sequencer is busy; try again"))
	try:
		yield
	finally:
		frappe.db.sql("select release_lock(%s)", (SEQUENCER_LOCK,))


def stamp_committed_changes(limit: int = STAMP_BATCH) -> int:
	"""Give feed positions to committed, unpositioned (seq = 0) changes.

	Call inside `sequencer_lock()`, at the start of a fresh transaction, and commit before leaving the
	lock. The reads are plain consistent reads: they see exactly the changes committed when the
	snapshot began, never an in-flight one, and take no locks that writers could wait on. Rows that
	commit later get later positions from a later call.
	"""
	next_seq = last_position() + 1
	pending = frappe.db.sql(
		"select name from `tabHub Change` where seq = 0 order by name limit %s", (limit,), as_list=True
	)
	ids = [row[0] for row in pending]
	if ids:
		frappe.db.sql(
			"update `tabHub Change` set seq = %s + find_in_set(name, %s) - 1 where name in %s",
			(next_seq, ",".join(str(i) for i in ids), tuple(ids)),
		)
	return len(ids)


def last_position() -> int:
	return frappe.db.sql("select coalesce(max(seq), 0) from `tabHub Change`")[0][0]

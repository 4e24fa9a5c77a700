"""Retention of deliveries (and so their events), run by Frappe's log clearing (Log Settings, Hub
Delivery, default 30 days).

A delivery that Succeeded or is Dead and older than the retention goes with its attempts. Deliveries still Pending or Failed are kept whatever their age (their
subscription may be disabled for a while). Delivery numbers grow with time, so the pruning walks the
primary key from the oldest and stops at the first delivery inside the retention window.
"""

import frappe
from frappe.utils import add_days, get_datetime, now_datetime

DEFAULT_RETENTION_DAYS = 30
BATCH = 5000


def prune(days: int = DEFAULT_RETENTION_DAYS) -> int:
	cutoff = add_days(now_datetime(), -int(days))
	after, pruned = 0, 0
	while True:
		rows = frappe.db.sql(
			"""select name, status, creation from `tabHub Delivery`
			where name > %s order by name limit %s""",
			(after, BATCH),
			as_dict=True,
		)
		old = [row for row in rows if get_datetime(row.creation) < cutoff]
		done = [row for row in old if row.status in ("Succeeded", "Dead")]
		if done:
			names = tuple(str(row.name) for row in done)
			frappe.db.sql("delete from `tabHub Delivery Attempt` where parent in %s", (names,))
			frappe.db.sql("delete from `tabHub Delivery` where name in %s", (names,))
			pruned += len(done)
		if len(old) < len(rows) or len(rows) < BATCH:
			return pruned
		after = rows[-1].name

"""Retention of events and deliveries, run by Frappe's log clearing (Log Settings, default 30 days).

Deliveries still Pending or Failed are kept whatever their age (a subscription may be disabled for a
while); an event goes once its delivery has gone.
"""

import frappe
from frappe.utils import add_days, now_datetime

DEFAULT_RETENTION_DAYS = 30
BATCH = 5000


def prune_deliveries(days: int = DEFAULT_RETENTION_DAYS) -> int:
	cutoff = add_days(now_datetime(), -int(days))
	pruned = 0
	while True:
		names = [
			str(row[0])
			for row in frappe.db.sql(
				"""select name from `tabHub Delivery`
				where creation < %s and status in ('Succeeded', 'Dead') limit %s""",
				(cutoff, BATCH),
			)
		]
		if not names:
			return pruned
		frappe.db.sql("delete from `tabHub Delivery Attempt` where parent in %s", (tuple(names),))
		frappe.db.sql("delete from `tabHub Delivery` where name in %s", (tuple(names),))
		pruned += len(names)


def prune_events(days: int = DEFAULT_RETENTION_DAYS) -> None:
	cutoff = add_days(now_datetime(), -int(days))
	frappe.db.sql(
		"""delete e from `tabHub Event` e
		where e.creation < %s
			and not exists (select 1 from `tabHub Delivery` d where d.event = e.name)""",
		(cutoff,),
	)

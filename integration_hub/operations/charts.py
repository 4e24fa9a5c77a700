"""Data for the Integration Hub workspace's custom Dashboard Chart Sources and Number Card, which
Frappe's document-type charts cannot express (hourly buckets, one dataset per status, a rolling 24
hours). Each checks that the caller may read the DocType it counts, then reads the hub's own tables."""

from datetime import timedelta

import frappe
from frappe.utils import get_datetime, now_datetime

DELIVERY_STATUSES = ("Succeeded", "Pending", "Failed", "Dead")
RUN_STATUSES = ("Succeeded", "Partial", "Failed", "Running")
HOURS = 24
DAYS = 14


@frappe.whitelist()
def deliveries_per_hour(**kwargs) -> dict:
	"""Hub Deliveries created in each of the last 24 hours, one dataset per (current) status."""
	frappe.has_permission("Hub Delivery", "read", throw=True)
	now = get_datetime(now_datetime()).replace(minute=0, second=0, microsecond=0)
	buckets = [now - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
	rows = frappe.db.sql(
		"""select date_format(creation, '%%Y-%%m-%%d %%H:00:00') as bucket, status, count(*) as count
		from `tabHub Delivery` where creation >= %s group by bucket, status""",
		(buckets[0],),
		as_dict=True,
	)
	return _chart(
		[bucket.strftime("%Y-%m-%d %H:00:00") for bucket in buckets],
		[bucket.strftime("%H:00") for bucket in buckets],
		DELIVERY_STATUSES,
		rows,
	)


@frappe.whitelist()
def sync_runs_per_day(**kwargs) -> dict:
	"""Hub Sync Runs started on each of the last 14 days, one dataset per status."""
	frappe.has_permission("Hub Sync Run", "read", throw=True)
	today = get_datetime(now_datetime()).date()
	days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
	rows = frappe.db.sql(
		"""select date_format(started, '%%Y-%%m-%%d') as bucket, status, count(*) as count
		from `tabHub Sync Run` where started >= %s group by bucket, status""",
		(days[0],),
		as_dict=True,
	)
	return _chart([str(day) for day in days], [str(day) for day in days], RUN_STATUSES, rows)


@frappe.whitelist()
def failed_sync_runs_last_day(**kwargs) -> dict:
	"""The Number Card value: Hub Sync Runs that failed in the last 24 hours."""
	frappe.has_permission("Hub Sync Run", "read", throw=True)
	count = frappe.db.count(
		"Hub Sync Run", {"status": "Failed", "started": [">=", now_datetime() - timedelta(hours=24)]}
	)
	return {
		"value": count,
		"fieldtype": "Int",
		"route": ["List", "Hub Sync Run"],
		"route_options": {"status": "Failed"},
	}


def _chart(keys: list[str], labels: list[str], statuses: tuple, rows: list) -> dict:
	counts = {(row.bucket, row.status): row.count for row in rows}
	return {
		"labels": labels,
		"datasets": [
			{"name": status, "values": [counts.get((key, status), 0) for key in keys]} for status in statuses
		],
	}

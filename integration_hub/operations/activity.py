"""Keeping the scheduler of an API-only site running while the hub has outbound work.

Frappe's scheduler (`frappe.utils.scheduler.schedule_jobs_based_on_activity`) treats a site as dormant
when its latest Activity Log is older than System Settings' `dormant_days` (default 4), and then runs
scheduled jobs at most once a day. Activity Logs come from interactive logins, which a hub used only
through its API never has; retries due in 5 seconds would wait a day, and scheduled sync would run
daily. So the delivery jobs, and the API's own traffic (`security/limits.note_api_activity`), record
the hub's activity as an Activity Log, at most once an hour.
"""

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

MARK_EVERY = timedelta(hours=1)


def keep_site_awake(now=None, subject: str | None = None) -> bool:
	"""Record hub activity unless the site's last activity is recent; True if it recorded some."""
	now = now or now_datetime()
	last = frappe.db.get_value("Activity Log", {}, "modified", order_by="modified desc")
	if last and now - get_datetime(last) < MARK_EVERY:
		return False
	frappe.get_doc(
		{
			"doctype": "Activity Log",
			"subject": subject or _("Integration hub: outbound webhook deliveries"),
			"status": "Success",
			"user": "Administrator",
			"reference_doctype": "Hub Subscription",
		}
	).insert(ignore_permissions=True, ignore_links=True)  # the hub's own bookkeeping
	return True

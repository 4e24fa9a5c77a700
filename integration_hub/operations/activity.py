"""Keeping the scheduler of an API-only site running while the hub has outbound work.

Frappe's scheduler (`frappe.utils.scheduler.schedule_jobs_based_on_activity`) treats a site as dormant
when it has had no activity for System Settings' `dormant_days`, and then runs scheduled jobs at most
once a day. What counts as activity depends on the release: up to about 15.50 the latest Activity Log
(dormancy applies everywhere); later releases look at the users' `last_active` (and apply dormancy only
on Frappe Cloud). Both come from interactive sessions, which a hub used only through its API never has:
retries due in 5 seconds would wait a day, and scheduled sync would run daily. So the delivery jobs, and
the API's own traffic (`security/limits.note_api_activity`), record the hub's activity in both places,
at most once an hour: an Activity Log, and the acting user's `last_active`, set as Frappe's own
sessions set it. `operations/status.py` asks Frappe's own `is_dormant`, whichever rule it has.
"""

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime
from frappe.utils.scheduler import is_dormant, schedule_jobs_based_on_activity

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
	frappe.db.set_value("User", frappe.session.user, "last_active", now, update_modified=False)
	frappe.db.after_commit.add(forget_dormancy)
	return True


def forget_dormancy() -> None:
	"""Later releases keep the scheduler's answers (`is_dormant`, `schedule_jobs_based_on_activity`) in
	Redis for an hour (Frappe's `redis_cache`, whose `clear_cache` this calls): without this, the
	scheduler would go on treating the site as dormant for up to an hour after the hub's activity."""
	for answer in (is_dormant, schedule_jobs_based_on_activity):
		clear_cache = getattr(answer, "clear_cache", None)
		if clear_cache:
			clear_cache()

"""A subscription's health: its success and failure streak, and disabling endpoints that are gone.

- 410 Gone disables the subscription at once.
- A subscription all of whose attempts have failed for 5 days is disabled, counting only a streak whose
  failures span at least 12 hours (a short burst followed by silence never disables an endpoint).
  One success resets the streak.
Disabling records the reason, writes an Error Log and notifies every Integration Manager.
"""

from datetime import timedelta

import frappe
from frappe import _
from frappe.desk.doctype.notification_log.notification_log import make_notification_logs
from frappe.utils import get_datetime, now_datetime

from integration_hub.events.subscriptions import update_subscription_map
from integration_hub.security.roles import INTEGRATION_MANAGER

FAILING_DAYS = 5
MIN_FAILURE_SPAN = timedelta(hours=12)
SUCCESS_REFRESH = timedelta(minutes=1)


def record_success(subscription: str, now) -> None:
	# While all is well, write the subscription's row at most once a minute: it is shared by every worker.
	frappe.db.sql(
		"""update `tabHub Subscription`
		set last_success_at = %(now)s, consecutive_failures = 0, failing_since = null
		where name = %(name)s and (consecutive_failures > 0 or failing_since is not null
			or last_success_at is null or last_success_at < %(stale)s)""",
		{"now": now, "name": subscription, "stale": now - SUCCESS_REFRESH},
	)


def record_failure(subscription: str, now, gone: bool = False, count: int = 1) -> None:
	frappe.db.sql(
		"""update `tabHub Subscription`
		set consecutive_failures = consecutive_failures + %(count)s, last_failure_at = %(now)s,
			failing_since = coalesce(failing_since, %(now)s)
		where name = %(name)s""",
		{"now": now, "name": subscription, "count": count},
	)
	state = frappe.db.get_value(
		"Hub Subscription", subscription, ["status", "failing_since", "last_failure_at"], as_dict=True
	)
	if not state or state.status != "Active":
		return
	if gone:
		disable(subscription, _("The endpoint answered 410 Gone at {0}").format(now))
	elif _failing_too_long(state.failing_since, state.last_failure_at, now):
		disable(subscription, _failing_reason(state.failing_since))


def disable_failing_subscriptions(now=None) -> list[str]:
	"""Disable the active subscriptions whose failures have lasted 5 days (the sweep calls this, so an
	endpoint that stopped receiving events is judged too)."""
	now = now or now_datetime()
	rows = frappe.db.sql(
		"""select name, failing_since, last_failure_at from `tabHub Subscription`
		where enabled = 1 and status = 'Active' and failing_since is not null and failing_since <= %s""",
		(now - timedelta(days=FAILING_DAYS),),
		as_dict=True,
	)
	disabled = []
	for row in rows:
		if _failing_too_long(row.failing_since, row.last_failure_at, now):
			disable(row.name, _failing_reason(row.failing_since))
			disabled.append(row.name)
	return disabled


def _failing_too_long(failing_since, last_failure_at, now) -> bool:
	if not failing_since or not last_failure_at:
		return False
	failing_since, last_failure_at = get_datetime(failing_since), get_datetime(last_failure_at)
	return (
		now - failing_since >= timedelta(days=FAILING_DAYS)
		and last_failure_at - failing_since >= MIN_FAILURE_SPAN
	)


def _failing_reason(failing_since) -> str:
	return _("Every delivery attempt has failed since {0} ({1} days or more)").format(
		failing_since, FAILING_DAYS
	)


def disable(subscription: str, reason: str) -> None:
	now = now_datetime()
	frappe.db.set_value(
		"Hub Subscription",
		subscription,
		{"status": "Disabled", "disabled_reason": reason, "disabled_at": now},
		update_modified=True,
	)
	update_subscription_map(subscription, None)
	title = _("Hub Subscription {0} disabled").format(subscription)
	frappe.log_error(
		title=title, message=reason, reference_doctype="Hub Subscription", reference_name=subscription
	)
	make_notification_logs(
		frappe._dict(
			subject=title,
			email_content=reason,
			type="Alert",
			document_type="Hub Subscription",
			document_name=subscription,
			from_user="Administrator",
		),
		_integration_managers(),
	)


def _integration_managers() -> list[str]:
	return frappe.get_all(
		"User",
		filters=[
			["Has Role", "role", "=", INTEGRATION_MANAGER],
			["enabled", "=", 1],
			["name", "!=", "Administrator"],
		],
		pluck="name",
		distinct=True,
	)

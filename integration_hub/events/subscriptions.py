"""Which subscriptions want a DocType's events: a cached map, so documents of DocTypes that nobody
subscribed to cost one dictionary lookup.

The map lives in Frappe's cache (Redis plus the request-local copy) and is cleared when a subscription
changes, again when that transaction commits or rolls back (a map read while the change was
uncommitted must not outlive it), and when the hub disables a failing subscription.
"""

from dataclasses import dataclass

import frappe

SUBSCRIPTIONS_CACHE_KEY = "integration_hub:event_subscriptions"
EVENT_FLAGS = {
	"created": "send_on_insert",
	"updated": "send_on_update",
	"deleted": "send_on_delete",
	"submitted": "send_on_submit",
	"cancelled": "send_on_cancel",
}


@dataclass(frozen=True)
class Subscription:
	name: str
	doctype: str
	events: frozenset[str]
	condition: str | None
	run_as: str
	allowlist: frozenset[str] | None  # None: every field run_as may read

	def wants(self, action: str) -> bool:
		return action in self.events


def subscriptions_for(doctype: str) -> list[Subscription]:
	return _subscription_map().get(doctype, [])


def _subscription_map() -> dict[str, list[Subscription]]:
	mapping = frappe.cache.get_value(SUBSCRIPTIONS_CACHE_KEY)
	if mapping is None:
		mapping = _load()
		frappe.cache.set_value(SUBSCRIPTIONS_CACHE_KEY, mapping)
	return mapping


def _load() -> dict[str, list[Subscription]]:
	if not frappe.db.table_exists("Hub Subscription"):  # while the app itself is being installed
		return {}
	# Configuration, not a caller's data: read whatever the current user, like Frappe's own hooks.
	rows = frappe.get_all(
		"Hub Subscription",
		filters={"enabled": 1, "status": "Active"},
		fields=["name", "document_type", "condition", "run_as", *EVENT_FLAGS.values()],
		order_by="creation asc",
	)
	fields: dict[str, list[str]] = {}
	if rows:
		for row in frappe.get_all(
			"Hub Subscription Field",
			filters={"parenttype": "Hub Subscription", "parent": ["in", [r.name for r in rows]]},
			fields=["parent", "fieldname"],
			order_by="idx asc",
		):
			fields.setdefault(row.parent, []).append(row.fieldname)
	mapping: dict[str, list[Subscription]] = {}
	for row in rows:
		mapping.setdefault(row.document_type, []).append(
			Subscription(
				name=row.name,
				doctype=row.document_type,
				events=frozenset(action for action, flag in EVENT_FLAGS.items() if row.get(flag)),
				condition=(row.condition or "").strip() or None,
				run_as=row.run_as,
				allowlist=frozenset(fields[row.name]) if fields.get(row.name) else None,
			)
		)
	return mapping


def clear_subscription_cache() -> None:
	frappe.cache.delete_value(SUBSCRIPTIONS_CACHE_KEY)


def clear_subscription_cache_at_transaction_end() -> None:
	clear_subscription_cache()
	frappe.db.after_commit.add(clear_subscription_cache)
	frappe.db.after_rollback.add(clear_subscription_cache)

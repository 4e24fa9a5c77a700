"""Which subscriptions want a DocType's events, decided so that a write is recorded for exactly the
subscriptions active when it commits.

The active subscriptions are compiled into one row of `tabHub Lock` (`subscriptions`: a version and the
map as JSON), rebuilt by every change of a subscription in the changer's own transaction. A writer reads
that row once per transaction with a share lock and holds it until it commits; a changer locks the row
exclusively before it changes anything. So a change either committed before the writer's read (and the
locking read, which sees the latest committed version, returns the new map) or waits until the writer has
committed. A cache of the map outside the database cannot give that: a process whose transaction began
before a change reads the old subscriptions, and would cache them for everyone after the change.
"""

import functools
import json
from dataclasses import dataclass

import frappe

from integration_hub.locks import lock_rows, read_shared, update_locked_row

SUBSCRIPTIONS_LOCK = "subscriptions"
EVENT_FLAGS = {
	"created": "send_on_insert",
	"updated": "send_on_update",
	"deleted": "send_on_delete",
	"submitted": "send_on_submit",
	"cancelled": "send_on_cancel",
}
_TRANSACTION_MAP = "integration_hub_subscription_map"


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
	return _transaction_map().get(doctype, [])


def _transaction_map() -> dict[str, list[Subscription]]:
	mapping = getattr(frappe.local, _TRANSACTION_MAP, None)
	if mapping is None:
		row = read_shared(SUBSCRIPTIONS_LOCK)
		if row is None:  # a site migrated before the row existed: compile it now
			lock_subscription_map()
			row = frappe._dict(data=rebuild_subscription_map())
		mapping = _parse(row.data or "{}")
		_remember_for_transaction(mapping)
	return mapping


def _remember_for_transaction(mapping: dict[str, list[Subscription]]) -> None:
	if getattr(frappe.local, _TRANSACTION_MAP, None) is None:
		frappe.db.after_commit.add(_forget_transaction_map)
		frappe.db.after_rollback.add(_forget_transaction_map)
	setattr(frappe.local, _TRANSACTION_MAP, mapping)


def _forget_transaction_map() -> None:
	if hasattr(frappe.local, _TRANSACTION_MAP):
		delattr(frappe.local, _TRANSACTION_MAP)


@functools.lru_cache(maxsize=8)
def _parse(data: str) -> dict[str, list[Subscription]]:
	"""The map from its JSON (read-only: shared by the transactions that read the same version)."""
	mapping: dict[str, list[Subscription]] = {}
	for row in json.loads(data).get("subscriptions", []):
		mapping.setdefault(row["doctype"], []).append(
			Subscription(
				name=row["name"],
				doctype=row["doctype"],
				events=frozenset(row["events"]),
				condition=row["condition"],
				run_as=row["run_as"],
				allowlist=frozenset(row["allowlist"]) if row["allowlist"] is not None else None,
			)
		)
	return mapping


def lock_subscription_map() -> None:
	"""Call before changing a subscription, ahead of any write to it: writers that read the map wait
	for this transaction, and this transaction for the writers that have read it."""
	lock_rows([SUBSCRIPTIONS_LOCK])


def rebuild_subscription_map() -> str:
	"""Compile the active subscriptions into the map (after lock_subscription_map, once the change is
	written); the rest of this transaction sees the new map. Returns the map's JSON."""
	row = lock_rows([SUBSCRIPTIONS_LOCK])[SUBSCRIPTIONS_LOCK]
	data = json.dumps({"subscriptions": _active_subscriptions()}, separators=(",", ":"))
	update_locked_row(SUBSCRIPTIONS_LOCK, version=(row.version or 0) + 1, data=data)
	_remember_for_transaction(_parse(data))
	return data


def _active_subscriptions() -> list[dict]:
	if not frappe.db.table_exists("Hub Subscription"):  # while the app itself is being installed
		return []
	# Configuration, not a caller's data. Locking reads: the latest committed rows, whatever this
	# transaction's snapshot (the map lock keeps other changers out meanwhile).
	flags = ", ".join(f"`{flag}`" for flag in EVENT_FLAGS.values())
	rows = frappe.db.sql(
		f"""select name, document_type, `condition`, run_as, {flags} from `tabHub Subscription`
		where enabled = 1 and status = 'Active' order by creation, name lock in share mode""",
		as_dict=True,
	)
	fields: dict[str, list[str]] = {}
	for parent, fieldname in frappe.db.sql(
		"""select parent, fieldname from `tabHub Subscription Field`
		where parenttype = 'Hub Subscription' order by parent, idx lock in share mode"""
	):
		fields.setdefault(parent, []).append(fieldname)
	return [
		{
			"name": row.name,
			"doctype": row.document_type,
			"events": sorted(action for action, flag in EVENT_FLAGS.items() if row.get(flag)),
			"condition": (row.condition or "").strip() or None,
			"run_as": row.run_as,
			"allowlist": fields.get(row.name) or None,
		}
		for row in rows
	]

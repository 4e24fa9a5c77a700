"""Which subscriptions want a DocType's events, decided so that a write is recorded for exactly the
subscriptions active when it commits.

The active subscriptions are compiled into one row of `tabHub Lock` (`subscriptions`: a version and the
map as JSON), which every change of a subscription updates in the changer's own transaction. A writer reads
that row once per transaction with a share lock and holds it until it commits; a changer locks the row
exclusively when it writes the new map, and holds it until it commits. So a change either committed before the writer's read (and the
locking read, which sees the latest committed version, returns the new map) or waits until the writer has
committed. A cache of the map outside the database cannot give that: a process whose transaction began
before a change reads the old subscriptions, and would cache them for everyone after the change.

A process does remember the last map it read (committed), as a guess, known by the MD5 of its JSON (the
content itself: a restored backup or a row made again cannot pass for it). The writer of a subscribed
DocType shapes its event from the guess and writes it with one statement that also takes the share
lock, and only if the row still holds the guessed map (`guessed_map`, `confirm_guess`;
events/outbox.py); any other writer reads only the digest under the share lock, and the whole map when
it differs. Either way the map is the latest committed one, read under the share lock, so the promise
is the same; a subscribed write spares the statement that reads the map, and the others read 32
characters instead of it.
"""

import functools
import json
from dataclasses import dataclass

import frappe

from integration_hub.locks import data_digest, lock_rows, read_shared, shared_digest, update_locked_row

SUBSCRIPTIONS_LOCK = "subscriptions"
EVENT_FLAGS = {
	"created": "send_on_insert",
	"updated": "send_on_update",
	"deleted": "send_on_delete",
	"submitted": "send_on_submit",
	"cancelled": "send_on_cancel",
}
_TRANSACTION_MAP = "integration_hub_subscription_map"
_last_read: dict[str, "Guess"] = {}  # site -> the map this process last read, committed


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


@dataclass(frozen=True)
class Guess:
	"""A committed map, and the MD5 of its JSON as the row holds it (locks.data_digest)."""

	digest: str
	mapping: dict[str, list[Subscription]]


def subscriptions_for(doctype: str) -> list[Subscription]:
	return _transaction_map().get(doctype, [])


def _transaction_map() -> dict[str, list[Subscription]]:
	mapping = getattr(frappe.local, _TRANSACTION_MAP, None)
	if mapping is None:
		mapping = _current_map()
		_remember_for_transaction(mapping)
	return mapping


def _current_map() -> dict[str, list[Subscription]]:
	"""The latest committed map, share-locked: the one this process last read when the row's state is
	still that one's (a short read), else read whole."""
	guess = _last_read.get(frappe.local.site)
	if guess is not None and shared_digest(SUBSCRIPTIONS_LOCK) == guess.digest:
		return guess.mapping
	row = read_shared(SUBSCRIPTIONS_LOCK)
	if row is None:  # a site migrated before the row existed: compile it now
		return _parse(rebuild_subscription_map())
	mapping = _parse(row.data or "{}")
	_last_read[frappe.local.site] = Guess(data_digest(row.data), mapping)
	return mapping


def guessed_map() -> Guess | None:
	"""For a transaction that has not read the map: the one this process last read, to be confirmed by
	`confirm_guess` (under the share lock) before anything is decided by it; else None."""
	if getattr(frappe.local, _TRANSACTION_MAP, None) is not None:
		return None
	return _last_read.get(frappe.local.site)


def confirm_guess(guess: Guess) -> None:
	"""The guessed map was found current under the share lock: it is this transaction's map."""
	_remember_for_transaction(guess.mapping)


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


def update_subscription_map(name: str, entry: dict | None) -> None:
	"""Put one subscription's `entry` (map_entry; None: not active) into the map, once its change is
	written, under the map's exclusive lock (held to commit: it waits for the writers that have read
	the map, and writers after it wait for its commit). The rest of the map is the one last committed,
	as every change holds that lock: no other subscription row is read.

	The lock is taken here, as a change's last step: a change holding it from the start would wait, with
	it, for locks that writers take before they read the map (deleting any document makes Frappe lock a
	gap of `__Auth`, where a new subscription writes its secret): a deadlock. Reading the other
	subscription rows would likewise wait for delivery workers updating their health columns."""
	row = lock_rows([SUBSCRIPTIONS_LOCK])[SUBSCRIPTIONS_LOCK]
	entries = [e for e in json.loads(row.data or "{}").get("subscriptions", []) if e["name"] != name]
	if entry is not None:
		entries.append(entry)
	_write_map(row, sorted(entries, key=lambda e: (e["creation"], e["name"])))


def map_entry(subscription) -> dict | None:
	"""A Hub Subscription document's entry in the map, or None when it sends nothing."""
	if not subscription.enabled or subscription.status != "Active":
		return None
	return {
		"name": subscription.name,
		"doctype": subscription.document_type,
		"events": sorted(action for action, flag in EVENT_FLAGS.items() if subscription.get(flag)),
		"condition": (subscription.condition or "").strip() or None,
		"run_as": subscription.run_as,
		"allowlist": [row.fieldname for row in subscription.get("fields") or []] or None,
		"creation": str(subscription.creation),
	}


def rebuild_subscription_map() -> str:
	"""Compile the map afresh from every active subscription (install and migrate, which may have
	changed subscriptions without their controller). Returns the map's JSON."""
	row = lock_rows([SUBSCRIPTIONS_LOCK])[SUBSCRIPTIONS_LOCK]
	return _write_map(row, _active_subscriptions())


def _write_map(row, entries: list[dict]) -> str:
	data = json.dumps({"subscriptions": entries}, separators=(",", ":"))
	update_locked_row(SUBSCRIPTIONS_LOCK, version=(row.version or 0) + 1, data=data)
	_remember_for_transaction(_parse(data))
	return data


def _active_subscriptions() -> list[dict]:
	if not frappe.db.table_exists("Hub Subscription"):  # while the app itself is being installed
		return []
	# Configuration, not a caller's data.
	names = frappe.get_all(
		"Hub Subscription",
		filters={"enabled": 1, "status": "Active"},
		order_by="creation, name",
		pluck="name",
	)
	return [map_entry(frappe.get_doc("Hub Subscription", name)) for name in names]

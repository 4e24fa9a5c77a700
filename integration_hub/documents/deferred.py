"""Bookkeeping rows that a bulk call writes once at its end rather than once a record.

The hub adds rows of its own to every write: the key's lock row records the document it created
(documents/key_locks.py), the change feed gets a row (documents/changes.py), a subscribed DocType gets
its events (events/outbox.py). Inside `deferring()` these are collected and written with one statement
per kind when the call ends, still in the writer's transaction, so they commit or roll back with the
documents as before. A record rolled back to its savepoint takes its rows with it (`discard_since`).
Outside `deferring()` each row is written at once, as a single write needs.
"""

import contextlib
from collections.abc import Callable, Iterator

import frappe

_ACTIVE = "integration_hub_deferred_rows"

Flush = Callable[[list], None]


class DeferredRows:
	def __init__(self) -> None:
		self.rows: dict[Flush, list] = {}

	def add(self, flush: Flush, row: object) -> None:
		self.rows.setdefault(flush, []).append(row)

	def mark(self) -> dict[Flush, int]:
		return {flush: len(rows) for flush, rows in self.rows.items()}

	def discard_since(self, mark: dict[Flush, int]) -> None:
		"""Forget the rows added after `mark`: their record was rolled back to a savepoint taken there."""
		for flush, rows in self.rows.items():
			del rows[mark.get(flush, 0) :]

	def flush(self) -> None:
		for flush, rows in self.rows.items():
			if rows:
				flush(rows)
		self.rows = {}


def defer(flush: Flush, row: object) -> bool:
	"""Keep `row` for `flush(rows)` at the end of the current `deferring()` block; False outside one
	(the caller writes it now)."""
	batch = getattr(frappe.local, _ACTIVE, None)
	if batch is None:
		return False
	batch.add(flush, row)
	return True


def deferring_now() -> bool:
	"""Whether the writes now are inside a `deferring()` block."""
	return getattr(frappe.local, _ACTIVE, None) is not None


@contextlib.contextmanager
def deferring() -> Iterator[DeferredRows]:
	"""Collect the bookkeeping rows of the writes inside, and write them when the block ends normally
	(an error leaves them unwritten: the caller rolls back). Nested blocks share the outer one's rows."""
	outer = getattr(frappe.local, _ACTIVE, None)
	if outer is not None:
		yield outer
		return
	batch = DeferredRows()
	setattr(frappe.local, _ACTIVE, batch)
	try:
		yield batch
	finally:
		delattr(frappe.local, _ACTIVE)
	batch.flush()

"""Row locks in `tabHub Lock`: how the hub makes writes that must not overlap happen one after another,
in every process and on every machine.

A lock is an InnoDB row lock on a row of `tabHub Lock`, taken by a locking statement and held until the
transaction ends: commit, rollback, or the connection closing when a process dies. MariaDB detects a
deadlock as for any row lock, and rows are always locked in sorted order so that the hub's own lockers
cannot make one. A locking read also returns the latest committed version of a row, which an ordinary
read does not in a REPEATABLE READ transaction that began before another one committed: what a lock
row records is current when its lock is held.

Nothing here commits: the lock lasts as long as the transaction of the edge that owns it.
"""

import hashlib

import frappe
from frappe.utils import now_datetime

_HELD = "integration_hub_held_locks"


def lock_rows(names: list[str], reference_doctype: str | None = None) -> dict[str, frappe._dict]:
	"""Lock the rows `names` exclusively (creating the missing ones) and return their current values.
	Rows this transaction already holds are not locked again."""
	held = held_locks()
	# Not `set(names) - held.keys()`: that copies every held name, a bulk call's thousand, each call.
	wanted = sorted({name for name in names if name not in held})
	if wanted:
		now, user = now_datetime(), frappe.session.user
		for row in frappe.db.sql(
			# On a duplicate name the row is locked exclusively, as an UPDATE would lock it, and RETURNING
			# answers its current values (a new row's are the ones inserted): one statement, in name order.
			f"""insert into `tabHub Lock` (name, creation, modified, owner, modified_by, reference_doctype, version)
			values {", ".join(["(%s, %s, %s, %s, %s, %s, 0)"] * len(wanted))}
			on duplicate key update name = name
			returning name, reference_name, version, data""",
			[value for name in wanted for value in (name, now, now, user, user, reference_doctype)],
			as_dict=True,
		):
			held[row.name] = row
	return {name: held[name] for name in names}


def read_shared(name: str) -> frappe._dict | None:
	"""The row `name`, share-locked (others may read it too, none may change it) until the transaction
	ends; None if there is no such row."""
	rows = frappe.db.sql(
		"select name, reference_name, version, data from `tabHub Lock` where name = %s lock in share mode",
		(name,),
		as_dict=True,
	)
	return rows[0] if rows else None


def shared_digest(name: str) -> str | None:
	"""The MD5 of the row's `data`, the row share-locked as by read_shared (a short read for a caller
	that knows the data it expects); None if there is no such row."""
	rows = frappe.db.sql(
		"select md5(coalesce(data, '')) from `tabHub Lock` where name = %s lock in share mode", (name,)
	)
	return rows[0][0] if rows else None


def data_digest(data: str | None) -> str:
	"""The MD5 that MariaDB's md5(coalesce(data, '')) gives for this `data`."""
	return hashlib.md5((data or "").encode(), usedforsecurity=False).hexdigest()


def update_locked_row(name: str, **values) -> None:
	"""Change a row this transaction holds exclusively (`version=...`, `reference_name=...`, `data=...`)."""
	assignments = ", ".join(f"`{column}` = %({column})s" for column in values)
	frappe.db.sql(
		f"update `tabHub Lock` set {assignments}, modified = %(modified)s where name = %(name)s",
		{**values, "modified": now_datetime(), "name": name},
	)
	held = held_locks()
	if name in held:
		held[name].update(values)


def record_rows(references: list[tuple[str, str]], reference_doctype: str) -> None:
	"""Set `reference_name` on rows this transaction holds exclusively, in one statement:
	`references` are (row name, reference name) pairs."""
	now, user = now_datetime(), frappe.session.user
	frappe.db.sql(
		f"""insert into `tabHub Lock`
			(name, creation, modified, owner, modified_by, reference_doctype, reference_name, version)
		values {", ".join(["(%s, %s, %s, %s, %s, %s, %s, 0)"] * len(references))}
		on duplicate key update reference_name = values(reference_name), modified = values(modified)""",
		[v for name, ref in references for v in (name, now, now, user, user, reference_doctype, ref)],
	)
	held = held_locks()
	for name, reference in references:
		if name in held:
			held[name].reference_name = reference


def held_locks() -> dict[str, frappe._dict]:
	"""The rows this transaction has locked exclusively: forgotten when it commits or rolls back."""
	held = getattr(frappe.local, _HELD, None)
	if held is None:
		held = {}
		setattr(frappe.local, _HELD, held)
		frappe.db.after_commit.add(forget_held_locks)
		frappe.db.after_rollback.add(forget_held_locks)
	return held


def forget_held_locks() -> None:
	if hasattr(frappe.local, _HELD):
		delattr(frappe.local, _HELD)


def prune_key_locks(older_than_days: int = 1) -> None:
	"""Delete key rows nobody has written a document for since `older_than_days`: the document they
	name is old enough for every running transaction to see it without them."""
	frappe.db.sql(
		"delete from `tabHub Lock` where name like 'key:%%' and modified < %s",
		(frappe.utils.add_days(now_datetime(), -older_than_days),),
	)


def rollback_to_savepoint(savepoint: str) -> None:
	"""Undo the work since `savepoint`, or all of the transaction where the server rolled it back
	already (a deadlock's victim loses the whole transaction, its savepoints with it)."""
	try:
		frappe.db.rollback(save_point=savepoint)
	except Exception:
		frappe.db.rollback()

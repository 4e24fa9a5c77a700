"""The change feed: every committed write to an exposed DocType, deletions included, in commit order.

Writes append a row to `tabHub Change` in the writer's own transaction (doc_events hooks), so a change
and its log row commit or roll back together. Rows get their feed position (`seq`) only after they
have committed, from a sequencer that runs under a database-wide lock and sees only committed rows
(a consistent read never sees an in-flight one): positions are handed out in increasing order to
committed rows only, so a reader that has seen position N can never later find a change at a
position below N. That is what
lets a client that follows `next_cursor` see every change even under concurrent writers; an
auto-increment id or a `modified` timestamp alone cannot promise it, because transactions commit in a
different order than they start.

A client without a cursor first pages through a snapshot of the current documents (by name), then
continues from the log position read when the snapshot began.
"""

import json
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import add_days, now_datetime

from integration_hub.documents.cursor import decode_cursor, encode_cursor, fingerprint
from integration_hub.documents.deferred import defer
from integration_hub.documents.exposure import Resource, is_exposed
from integration_hub.documents.fields import field_policy
from integration_hub.documents.sequencer import last_position
from integration_hub.documents.versions import shape_versioned, versioned
from integration_hub.exceptions import InvalidCursor
from integration_hub.request_id import current as current_request_id

CHANGE_FLOOR_KEY = "integration_hub_change_floor"
DEFAULT_RETENTION_DAYS = 30


# --- writing: doc_events hooks ---------------------------------------------------------------


def on_document_write(doc, method=None) -> None:
	if _tracked(doc.doctype):
		_append(doc.doctype, doc.name, "upsert")


def on_document_delete(doc, method=None) -> None:
	if _tracked(doc.doctype):
		_append(doc.doctype, doc.name, "delete", data=frappe.as_json(doc.as_dict(no_nulls=True), indent=None))


def on_document_rename(doc, method=None, old: str | None = None, new: str | None = None, merge=False) -> None:
	if _tracked(doc.doctype) and old and new:
		_append(doc.doctype, old, "delete", data=frappe.as_json({**doc.as_dict(no_nulls=True), "name": old}))
		_append(doc.doctype, new, "upsert")


def _tracked(doctype: str) -> bool:
	return not frappe.flags.in_install and is_exposed(doctype)


def _append(doctype: str, name: str, operation: str, data: str | None = None) -> None:
	row = (doctype, name, operation, data, now_datetime(), frappe.session.user, current_request_id())
	if not defer(_insert_changes, row):
		_insert_changes([row])


def _insert_changes(rows: list[tuple]) -> None:
	"""Append change rows (doctype, name, operation, data, moment, user, request id) in one statement."""
	frappe.db.sql(
		# `Hub Change` is named by autoincrement, which Frappe backs with this sequence.
		f"""insert into `tabHub Change`
			(name, ref_doctype, docname, operation, data, changed_at, request_id,
			creation, modified, owner, modified_by)
		values {", ".join(["(nextval(`hub_change_id_seq`), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))}""",
		[
			value
			for doctype, name, operation, data, moment, user, request_id in rows
			for value in (doctype, name, operation, data, moment, request_id, moment, moment, user, user)
		],
	)


# --- reading ---------------------------------------------------------------------------------


@dataclass
class ChangePage:
	changes: list[dict]
	next_cursor: str | None
	has_more: bool


def read_changes(resource: Resource, cursor: str | None, limit: int) -> ChangePage:
	binding = fingerprint(kind="changes", doctype=resource.doctype, user=frappe.session.user)
	if cursor:
		position = decode_cursor(cursor, binding)
	else:
		position = {"phase": "snapshot", "s": last_position(), "n": ""}
	if position.get("phase") == "snapshot":
		return _snapshot_page(resource, binding, position, limit)
	return _log_page(resource, binding, position, limit)


def _snapshot_page(resource: Resource, binding: str, position: dict, limit: int) -> ChangePage:
	start, after = position.get("s"), position.get("n")
	if not isinstance(start, int) or not isinstance(after, str):
		raise _malformed()
	filters = [["name", ">", after]] if after else []
	names = frappe.get_list(
		resource.doctype, filters=filters, pluck="name", order_by="name asc", limit_page_length=limit + 1
	)
	changes = _upserts(resource, names[:limit])
	if len(names) > limit:
		return ChangePage(
			changes, encode_cursor(binding, {"phase": "snapshot", "s": start, "n": names[limit - 1]}), True
		)
	next_position = {"phase": "log", "s": start}
	return ChangePage(changes, encode_cursor(binding, next_position), _log_has_more(resource, start))


def _log_page(resource: Resource, binding: str, position: dict, limit: int) -> ChangePage:
	after = position.get("s")
	if not isinstance(after, int) or position.get("phase") != "log":
		raise _malformed()
	floor = frappe.db.get_default(CHANGE_FLOOR_KEY)
	if floor and after < int(floor):
		raise InvalidCursor(
			_("This cursor is older than the change log's retention; start again without a cursor"),
			[{"pointer": "/cursor", "detail": _("expired")}],
		)
	Change = DocType("Hub Change")
	rows = (
		frappe.qb.from_(Change)
		.select(Change.seq, Change.docname, Change.operation, Change.changed_at, Change.data)
		.where((Change.ref_doctype == resource.doctype) & (Change.seq > after))
		.orderby(Change.seq)
		.limit(limit + 1)
		.run(as_dict=True)
	)
	has_more = len(rows) > limit
	rows = rows[:limit]
	last_seq = rows[-1].seq if rows else after
	changes = _entries(resource, rows)
	return ChangePage(changes, encode_cursor(binding, {"phase": "log", "s": last_seq}), has_more)


def _entries(resource: Resource, rows: list[dict]) -> list[dict]:
	"""Feed entries for log rows: only the latest operation per document, in order of that operation."""
	latest = {}
	for row in rows:
		latest.pop(row.docname, None)
		latest[row.docname] = row
	upserts = {
		entry["name"]: entry
		for entry in _upserts(resource, [n for n, r in latest.items() if r.operation == "upsert"])
	}
	entries = []
	for name, row in latest.items():
		if row.operation == "upsert":
			if name in upserts:
				entries.append(upserts[name])
		elif _may_see_deleted(resource, row):
			entries.append({"op": "delete", "name": name, "modified": row.changed_at})
	return entries


def _upserts(resource: Resource, names: list[str]) -> list[dict]:
	"""Upsert entries for the named documents the caller may still read, in the order given."""
	if not names:
		return []
	policy = field_policy(resource)
	if policy.tables:
		visible = frappe.get_list(resource.doctype, filters={"name": ["in", names]}, pluck="name")
		docs = {name: shape_versioned(frappe.get_doc(resource.doctype, name), policy) for name in visible}
	else:
		rows = frappe.get_list(
			resource.doctype,
			filters={"name": ["in", names]},
			fields=policy.scalar_readable(),
			limit_page_length=len(names),
		)
		docs = {row["name"]: versioned(row, resource.doctype, policy) for row in rows}
	return [
		{"op": "upsert", "name": name, "modified": docs[name]["modified"], "doc": docs[name]}
		for name in names
		if name in docs
	]


def _may_see_deleted(resource: Resource, row) -> bool:
	if not frappe.has_permission(resource.doctype, "read"):
		return False
	if not row.data:
		return True
	try:
		snapshot = frappe.get_doc(json.loads(row.data))
	except Exception:
		return False
	return bool(frappe.has_permission(resource.doctype, "read", doc=snapshot))


def _log_has_more(resource: Resource, after: int) -> bool:
	return bool(
		frappe.db.sql(
			"select 1 from `tabHub Change` where ref_doctype = %s and seq > %s limit 1",
			(resource.doctype, after),
		)
	)


def _malformed() -> InvalidCursor:
	return InvalidCursor(_("The cursor is malformed"), [{"pointer": "/cursor", "detail": _("malformed")}])


# --- retention -------------------------------------------------------------------------------


def prune_change_log(retention_days: int = DEFAULT_RETENTION_DAYS) -> int:
	"""Forget positioned changes older than the retention; cursors from before then must restart."""
	cutoff = add_days(now_datetime(), -retention_days)
	newest_pruned = frappe.db.sql(
		"select max(seq) from `tabHub Change` where seq > 0 and changed_at < %s", (cutoff,)
	)[0][0]
	if not newest_pruned:
		return 0
	frappe.db.sql("delete from `tabHub Change` where seq <= %s", (newest_pruned,))
	frappe.db.set_default(CHANGE_FLOOR_KEY, str(newest_pruned))
	return newest_pruned

"""The one write engine: find a document by its natural key, then create it, update it or leave it;
and delete one by name or key.

Every write of the API, of sync and of inbound webhooks goes through `upsert_record`, so permissions,
field exposure, the `unchanged` no-op (no save, no new `modified`, no version, no events) and errors
behave the same everywhere. It runs as the session user through Frappe's permission engine.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import frappe
from frappe import _
from frappe.model import numeric_fieldtypes
from frappe.model.docstatus import DocStatus
from frappe.utils import flt
from frappe.utils.data import cast as cast_fieldtype

from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import FieldPolicy, field_policy
from integration_hub.documents.key_locks import has_key, lock_keys, record_document, recorded_document
from integration_hub.documents.keys import child_key, is_compared_only, key_exists, names_with_key
from integration_hub.documents.naming import name_for_new_document
from integration_hub.documents.permissions import has_document_permission
from integration_hub.documents.read import existing_document, resolve_name
from integration_hub.documents.validation import validate_record
from integration_hub.documents.versions import (
	pop_expected,
	require_absent_expectation,
	require_expected,
	shape_versioned,
)
from integration_hub.exceptions import BadRequest, Conflict, OperationNotPermitted, ValidationFailed


@dataclass
class UpsertResult:
	name: str
	status: str  # created | updated | unchanged
	document: object = field(repr=False)
	policy: FieldPolicy = field(repr=False)

	@cached_property
	def doc(self) -> dict:
		"""The document as the caller may read it, with its version (shaped when asked for: bulk answers
		without it)."""
		return shape_versioned(self.document, self.policy)

	def as_dict(self) -> dict:
		return {"name": self.name, "status": self.status, "doc": self.doc}


def parse_key(raw: object, resource: Resource) -> tuple[str, ...]:
	"""Key fields: the caller's override (a list of fieldnames) or the resource's."""
	if raw in (None, "", []):
		return resource.key_fields
	if not isinstance(raw, list) or not raw or not all(isinstance(f, str) and f for f in raw):
		raise BadRequest(_("key must be a list of fieldnames"), [{"pointer": "/key"}])
	return tuple(raw)


def upsert_record(
	resource: Resource,
	data: object,
	key_fields: tuple[str, ...],
	pointer: str = "/data",
	*,
	known_new: bool = False,
	if_match: str | None = None,
	found=None,
	before_write: Callable[[], None] | None = None,
) -> UpsertResult:
	"""`known_new`: the caller already found that no document has this key, and a unique index on the
	key refuses a duplicate if that is no longer true (bulk.py checks a whole batch in one query).
	The record's `_version` (or `if_match`, a single call's If-Match header) is the version the write
	expects the document at: a stale one is refused with 412 and nothing is written.
	`found`: the document with this key, read by the caller under the key's lock with a locking read
	(documents/batch_read.py reads a batch's at once), so no lookup or load is needed; `before_write`
	is then called before it is saved (bulk.py sets the record's savepoint there: an unchanged record
	costs no statement)."""
	authorize_any_write(resource)
	policy = field_policy(resource)
	data, expected = pop_expected(data, pointer, if_match)
	values = validate_record(data, policy, key_fields, pointer)
	if found is not None:
		_check_readable(resource, found, pointer)
		authorize(resource, "update")
		return _update_document(resource, policy, found, values, before_write, expected, pointer)
	key = {fieldname: values[fieldname] for fieldname in key_fields}
	if known_new and expected is None:
		lock_keys(resource.doctype, [key])
		name = None
	else:
		name = find_by_key(resource, key, pointer)
	if name:
		return _update(resource, policy, name, values, expected, pointer)
	require_absent_expectation(expected, resource.doctype, pointer)
	return _create(resource, policy, values, key, pointer)


def authorize_any_write(resource: Resource) -> None:
	"""Permission comes before input validation: a caller who may neither create nor update learns
	nothing about the fields."""
	try:
		authorize(resource, "create")
	except OperationNotPermitted:
		authorize(resource, "update")


def find_by_key(resource: Resource, key: dict, pointer: str = "/data") -> str | None:
	"""The name of the document with this natural key that the caller may read, or None.

	A document with the key that the caller may not see is not created twice: that is a conflict.
	Locks the key until the transaction ends (documents/key_locks.py): a concurrent upsert of the same
	key waits, then finds what this one wrote.
	"""
	recorded = _locked_document_with_key(resource.doctype, recorded_document(resource.doctype, key), key)
	if recorded is not None and not DocStatus(recorded.docstatus).is_cancelled():
		_check_readable(resource, recorded, pointer)
		return recorded.name
	# A cancelled document may have an amendment with its key: the search below prefers that one.
	if list(key) == ["name"]:
		name = key["name"]
		if not frappe.db.exists(resource.doctype, name):
			return None
		if not frappe.has_permission(resource.doctype, "read", doc=name):
			raise _hidden_conflict(resource, pointer)
		return name
	matches = names_with_key(field_policy(resource), key)
	if len(matches) > 1:
		raise Conflict(
			_("More than one {0} has this key; make the key fields unique").format(resource.doctype),
			[{"pointer": pointer, "detail": _("ambiguous key")}],
		)
	if matches:
		return matches[0]
	# The caller cannot see one; make sure none exists before creating a duplicate.
	if key_exists(resource.doctype, key):
		raise _hidden_conflict(resource, pointer)
	return None


def _locked_document_with_key(doctype: str, name: str | None, key: dict):
	"""The document `name` as last committed (a locking read: this transaction's snapshot may be older
	than its creation), if it still has `key`; else None."""
	doc = existing_document(doctype, name, for_update=True) if name else None
	return doc if doc is not None and has_key(doc, key) else None


def _check_readable(resource: Resource, doc, pointer: str) -> None:
	"""A document with the caller's key that the caller may not read is never written: 403."""
	if not has_document_permission(doc, "read"):
		raise _hidden_conflict(resource, pointer)


def _hidden_conflict(resource: Resource, pointer: str) -> OperationNotPermitted:
	return OperationNotPermitted(
		_("A {0} with this key exists that you are not permitted to access").format(resource.doctype),
		[{"pointer": pointer, "detail": _("not permitted")}],
	)


def _update(
	resource: Resource,
	policy: FieldPolicy,
	name: str,
	values: dict,
	expected: frozenset[str] | None = None,
	pointer: str = "/data",
) -> UpsertResult:
	authorize(resource, "update")
	# As last committed (a locking read): an upsert of this key may have committed while we waited.
	doc = frappe.get_doc(resource.doctype, name, for_update=True)
	return _update_document(resource, policy, doc, values, expected=expected, pointer=pointer)


def _update_document(
	resource: Resource,
	policy: FieldPolicy,
	doc,
	values: dict,
	before_write: Callable[[], None] | None = None,
	expected: frozenset[str] | None = None,
	pointer: str = "/data",
) -> UpsertResult:
	"""Update `doc` (the caller is authorized to update the resource) if any value differs."""
	if not has_document_permission(doc, "write"):
		raise OperationNotPermitted(
			_("You are not permitted to update {0} {1}").format(resource.doctype, doc.name)
		)
	require_expected(doc, policy, expected, pointer)
	changed = differing_fields(doc, values, policy)
	if not changed:
		return UpsertResult(doc.name, "unchanged", doc, policy)
	require_changeable(doc, changed, pointer)
	set_values(doc, values, changed, policy)
	if before_write is not None:
		before_write()
	doc.save()
	return UpsertResult(doc.name, "updated", doc, policy)


def _create(resource: Resource, policy: FieldPolicy, values: dict, key: dict, pointer: str) -> UpsertResult:
	authorize(resource, "create")
	given_name = None
	if "name" in key:
		values = dict(values)
		given_name = name_for_new_document(resource.doctype, values, policy, pointer)
	values = with_child_key_rows(values, key, policy, pointer)
	# Built as Frappe's own insert_many builds them (insert() fills in the defaults), from copies of the
	# child rows: Frappe writes into the dicts it is given.
	fields = {
		f: [dict(row) for row in v] if f in policy.tables else v
		for f, v in values.items()
		if f != "name" and not is_compared_only(f, policy)
	}
	doc = frappe.get_doc({"doctype": resource.doctype, **fields})
	doc.insert(set_name=given_name)
	_require_key_taken(doc, key, policy, pointer)
	record_document(resource.doctype, key, doc.name)
	return UpsertResult(doc.name, "created", doc, policy)


def with_child_key_rows(values: dict, key: dict, policy: FieldPolicy, pointer: str) -> dict:
	"""The record of a new document with a row for each child-table key (`barcodes.barcode`) that its
	table does not carry already: an Item upserted by a new barcode gets that barcode."""
	for fieldname, value in key.items():
		if not (parts := child_key(fieldname)):
			continue
		table, child_field = parts
		rows = values.get(table)
		if rows is not None:
			if not any(has_key(row, {child_field: value}) for row in rows):
				raise ValidationFailed(
					_("{0} must include the key's {1} {2}, or be left out").format(table, child_field, value),
					[{"pointer": f"{pointer}/{table}", "detail": _("the key's row is missing")}],
				)
			continue
		if table not in policy.writable or child_field not in policy.tables[table].writable:
			raise ValidationFailed(
				_("A new {0} cannot take its key {1}: {2} is read-only for you").format(
					policy.doctype, fieldname, table
				),
				[{"pointer": f"{pointer}/{fieldname}", "detail": _("field is read-only for you")}],
			)
		values = {**values, table: [{child_field: value}]}
	return values


def _require_key_taken(doc, key: dict, policy: FieldPolicy, pointer: str) -> None:
	"""A key field the caller may not write is set by the DocType itself (fetched, computed): a new
	document that did not come out with the key's value would not be found by it again."""
	for fieldname, value in key.items():
		if fieldname == "name" or child_key(fieldname) or not is_compared_only(fieldname, policy):
			continue
		if not has_key(doc, {fieldname: value}):
			raise ValidationFailed(
				_("{0} of a new {1} is not taken from the record: {2}; send the value there").format(
					frappe.bold(fieldname), policy.doctype, setter_of(doc.meta, fieldname)
				),
				[
					{
						"pointer": f"{pointer}/{fieldname}",
						"detail": _("read-only key field not set from the record"),
					}
				],
			)


def setter_of(meta, fieldname: str) -> str:
	"""Which writable field a read-only field takes its value from, as far as the DocType says."""
	df = meta.get_field(fieldname)
	if df and df.fetch_from:
		link = df.fetch_from.split(".", 1)[0]
		return _("it is fetched from {0}").format(frappe.bold(link))
	tables = [t.fieldname for t in meta.get_table_fields() if frappe.get_meta(t.options).has_field(fieldname)]
	if tables:
		return _("{0} sets it from the table {1}").format(meta.name, frappe.bold(", ".join(tables)))
	return _("{0} sets it itself").format(meta.name)


def apply_changes(doc, values: dict, policy: FieldPolicy) -> bool:
	"""Set the supplied values on `doc`; True when any of them differs from what is stored."""
	changed = differing_fields(doc, values, policy)
	set_values(doc, values, changed, policy)
	return bool(changed)


def set_values(doc, values: dict, fieldnames: list[str], policy: FieldPolicy) -> None:
	for fieldname in fieldnames:
		if fieldname in policy.tables:
			doc.set(fieldname, [])
			for row in values[fieldname]:
				doc.append(fieldname, dict(row))  # Frappe writes into the dict it is given
		else:
			doc.set(fieldname, values[fieldname])


def differing_fields(doc, values: dict, policy: FieldPolicy) -> list[str]:
	"""The fields of `values` whose value differs from `doc`'s (child tables as a whole); key fields the
	caller may not write are compared by the lookup, not here."""
	changed = []
	for fieldname, value in values.items():
		if fieldname == "name" or is_compared_only(fieldname, policy):
			continue
		if fieldname in policy.tables:
			differs = not _rows_equal(doc.get(fieldname) or [], value, policy.tables[fieldname])
		else:
			differs = not same_value(policy.writable[fieldname], doc.get(fieldname), value)
		if differs:
			changed.append(fieldname)
	return changed


def require_changeable(doc, changed: list[str], pointer: str) -> None:
	"""A submitted document changes only in its "Allow on Submit" fields (Frappe's update after submit);
	a cancelled one not at all: 409 naming the fields, before anything is written."""
	status = DocStatus(doc.docstatus)
	if status.is_draft() or not changed:
		return
	if status.is_cancelled():
		frozen = changed
		message = _("{0} {1} is cancelled and cannot change ({2}); amend it to make a new version")
	else:
		frozen = [f for f in changed if not (doc.meta.get_field(f) and doc.meta.get_field(f).allow_on_submit)]
		message = _(
			"{0} {1} is submitted: {2} cannot change after submission (only its Allow on Submit fields can); cancel and amend it instead"
		)
	if frozen:
		raise Conflict(
			message.format(doc.doctype, doc.name, ", ".join(frozen)),
			[{"pointer": f"{pointer}/{f}", "detail": _("cannot change after submission")} for f in frozen],
		)


def _rows_equal(existing: list, given: list[dict], policy: FieldPolicy) -> bool:
	if len(existing) != len(given):
		return False
	return all(
		same_value(policy.writable[fieldname], row.get(fieldname), value)
		for row, values in zip(existing, given, strict=True)
		for fieldname, value in values.items()
	)


def same_value(df, stored: object, given: object) -> bool:
	if df.fieldtype in numeric_fieldtypes or df.fieldtype == "Check":
		return flt(stored) == flt(given)
	return cast_fieldtype(df.fieldtype, stored) == cast_fieldtype(df.fieldtype, given)


def delete_record(
	resource: Resource, name: object = None, key: object = None, expected: frozenset[str] | None = None
) -> str:
	"""`expected`: the versions the caller expects the document at (If-Match); 412 if it is stale."""
	authorize(resource, "delete")
	found = resolve_name(resource, name, key)
	if expected is not None:
		doc = frappe.get_doc(resource.doctype, found, for_update=True)  # as last committed, held to the end
		require_expected(doc, field_policy(resource), expected, "/headers/If-Match")
	frappe.delete_doc(resource.doctype, found)
	return found

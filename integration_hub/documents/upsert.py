"""The one write engine: find a document by its natural key, then create it, update it or leave it.

Every write of the API, of sync and of inbound webhooks goes through `upsert_record`, so permissions,
field exposure, the `unchanged` no-op (no save, no new `modified`, no version, no events) and errors
behave the same everywhere. It runs as the session user through Frappe's permission engine.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import frappe
from frappe import _
from frappe.model import numeric_fieldtypes, table_fields
from frappe.utils import flt, get_datetime, getdate
from frappe.utils.data import cast as cast_fieldtype

from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import FieldPolicy, field_policy, shape_document
from integration_hub.documents.key_locks import has_key, lock_keys, record_document, recorded_document
from integration_hub.documents.naming import name_for_new_document
from integration_hub.exceptions import BadRequest, Conflict, NotFound, OperationNotPermitted, ValidationFailed

MAX_STRING_LENGTH = 1_000_000
WHOLE_NUMBER = re.compile(r"\s*[-+]?\d+\s*")


@dataclass
class UpsertResult:
	name: str
	status: str  # created | updated | unchanged
	document: object = field(repr=False)
	policy: FieldPolicy = field(repr=False)

	@cached_property
	def doc(self) -> dict:
		"""The document as the caller may read it (shaped when asked for: bulk answers without it)."""
		return shape_document(self.document, self.policy)

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
	found=None,
	before_write: Callable[[], None] | None = None,
) -> UpsertResult:
	"""`known_new`: the caller already found that no document has this key, and a unique index on the
	key refuses a duplicate if that is no longer true (bulk.py checks a whole batch in one query).
	`found`: the document with this key, read by the caller under the key's lock with a locking read
	(documents/batch_read.py reads a batch's at once), so no lookup or load is needed; `before_write`
	is then called before it is saved (bulk.py sets the record's savepoint there: an unchanged record
	costs no statement)."""
	authorize_any_write(resource)
	policy = field_policy(resource)
	values = validate_record(data, policy, key_fields, pointer)
	if found is not None:
		_check_readable(resource, found, pointer)
		authorize(resource, "update")
		return _update_document(resource, policy, found, values, before_write)
	key = {fieldname: values[fieldname] for fieldname in key_fields}
	if known_new:
		lock_keys(resource.doctype, [key])
		name = None
	else:
		name = find_by_key(resource, key, pointer)
	if name:
		return _update(resource, policy, name, values)
	return _create(resource, policy, values, key, pointer)


def authorize_any_write(resource: Resource) -> None:
	"""Permission comes before input validation: a caller who may neither create nor update learns
	nothing about the fields."""
	try:
		authorize(resource, "create")
	except OperationNotPermitted:
		authorize(resource, "update")


def validate_record(data: object, policy: FieldPolicy, key_fields: tuple[str, ...], pointer: str) -> dict:
	"""Refuse (422, naming the field) anything the caller may not write; return the record's values."""
	if not isinstance(data, dict) or not data:
		raise BadRequest(_("A record must be a non-empty JSON object"), [{"pointer": pointer}])
	errors = []
	for fieldname in key_fields:
		if fieldname != "name" and fieldname not in policy.readable:
			raise BadRequest(
				_("Key field {0} is not a readable field of {1}").format(
					frappe.bold(fieldname), policy.doctype
				),
				[{"pointer": "/key", "detail": _("not a readable field")}],
			)
		if data.get(fieldname) in (None, ""):
			errors.append({"pointer": f"{pointer}/{fieldname}", "detail": _("key field is required")})
	for fieldname, value in data.items():
		field_pointer = f"{pointer}/{fieldname}"
		if fieldname == "name" and "name" in key_fields:
			if not isinstance(value, str):
				errors.append({"pointer": field_pointer, "detail": _("expected a string")})
			continue
		error = _field_error(policy, fieldname, value, field_pointer)
		if error:
			errors.append(error)
	if errors:
		raise ValidationFailed(
			_("The record has {0} invalid field(s): {1}").format(
				len(errors), ", ".join(e["pointer"] for e in errors[:10])
			),
			errors=errors,
		)
	return data


def _field_error(policy: FieldPolicy, fieldname: object, value: object, pointer: str) -> dict | None:
	if not isinstance(fieldname, str) or not policy.may_read(fieldname):
		return {"pointer": pointer, "detail": _("unknown field, or not exposed to you")}
	if fieldname not in policy.writable:
		return {"pointer": pointer, "detail": _("field is read-only for you")}
	df = policy.writable[fieldname]
	if df.fieldtype in table_fields:
		return _table_error(policy.tables[fieldname], value, pointer)
	problem = value_problem(df, value)
	return {"pointer": pointer, "detail": problem} if problem else None


def _table_error(child_policy: FieldPolicy, rows: object, pointer: str) -> dict | None:
	if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
		return {"pointer": pointer, "detail": _("expected a list of row objects")}
	for index, row in enumerate(rows):
		for fieldname, value in row.items():
			error = _field_error(child_policy, fieldname, value, f"{pointer}/{index}/{fieldname}")
			if error:
				return error
	return None


def value_problem(df, value: object) -> str | None:
	"""Why `value` cannot be stored in field `df`, or None. Frappe would silently coerce it."""
	if value is None:
		return None
	if isinstance(value, dict | list):
		return _("expected a single value")
	if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
		return _("value is too long")
	try:
		if df.fieldtype in ("Int", "Long Int", "Check"):
			if not _is_whole_number(value):
				return _("expected a whole number")
		elif df.fieldtype in numeric_fieldtypes:
			if isinstance(value, str):
				float(value)
			elif not isinstance(value, int | float):
				return _("expected a number")
		elif df.fieldtype == "Date":
			getdate(value)
		elif df.fieldtype in ("Datetime",):
			get_datetime(value)
		elif df.fieldtype == "Select" and value != "":
			options = [o for o in (df.options or "").split("\n")]
			if options and str(value) not in options:
				return _("must be one of: {0}").format(", ".join(o for o in options if o))
	except (ValueError, TypeError, frappe.ValidationError):
		return _("not a valid {0}").format(df.fieldtype)
	return None


def _is_whole_number(value: object) -> bool:
	if isinstance(value, bool | int):
		return True
	if isinstance(value, float):
		return value.is_integer()
	return isinstance(value, str) and bool(WHOLE_NUMBER.fullmatch(value))


def find_by_key(resource: Resource, key: dict, pointer: str = "/data") -> str | None:
	"""The name of the document with this natural key that the caller may read, or None.

	A document with the key that the caller may not see is not created twice: that is a conflict.
	Locks the key until the transaction ends (documents/key_locks.py): a concurrent upsert of the same
	key waits, then finds what this one wrote.
	"""
	recorded = _locked_document_with_key(resource.doctype, recorded_document(resource.doctype, key), key)
	if recorded is not None:
		_check_readable(resource, recorded, pointer)
		return recorded.name
	if list(key) == ["name"]:
		name = key["name"]
		if not frappe.db.exists(resource.doctype, name):
			return None
		if not frappe.has_permission(resource.doctype, "read", doc=name):
			raise _hidden_conflict(resource, pointer)
		return name
	matches = frappe.get_list(resource.doctype, filters=key, pluck="name", limit_page_length=2)
	if len(matches) > 1:
		raise Conflict(
			_("More than one {0} has this key; make the key fields unique").format(resource.doctype),
			[{"pointer": pointer, "detail": _("ambiguous key")}],
		)
	if matches:
		return matches[0]
	# The caller cannot see one; make sure none exists before creating a duplicate.
	if frappe.db.exists(resource.doctype, key):
		raise _hidden_conflict(resource, pointer)
	return None


def _locked_document_with_key(doctype: str, name: str | None, key: dict):
	"""The document `name` as last committed (a locking read: this transaction's snapshot may be older
	than its creation), if it still has `key`; else None."""
	doc = _existing_document(doctype, name, for_update=True) if name else None
	return doc if doc is not None and has_key(doc, key) else None


def _check_readable(resource: Resource, doc, pointer: str) -> None:
	"""A document with the caller's key that the caller may not read is never written: 403."""
	if not frappe.has_permission(resource.doctype, "read", doc=doc):
		raise _hidden_conflict(resource, pointer)


def _hidden_conflict(resource: Resource, pointer: str) -> OperationNotPermitted:
	return OperationNotPermitted(
		_("A {0} with this key exists that you are not permitted to access").format(resource.doctype),
		[{"pointer": pointer, "detail": _("not permitted")}],
	)


def _update(resource: Resource, policy: FieldPolicy, name: str, values: dict) -> UpsertResult:
	authorize(resource, "update")
	# As last committed (a locking read): an upsert of this key may have committed while we waited.
	return _update_document(resource, policy, frappe.get_doc(resource.doctype, name, for_update=True), values)


def _update_document(
	resource: Resource,
	policy: FieldPolicy,
	doc,
	values: dict,
	before_write: Callable[[], None] | None = None,
) -> UpsertResult:
	"""Update `doc` (the caller is authorized to update the resource) if any value differs."""
	if not doc.has_permission("write"):
		raise OperationNotPermitted(
			_("You are not permitted to update {0} {1}").format(resource.doctype, doc.name)
		)
	if not apply_changes(doc, values, policy):
		return UpsertResult(doc.name, "unchanged", doc, policy)
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
	# Built as Frappe's own insert_many builds them (insert() fills in the defaults), from copies of the
	# child rows: Frappe writes into the dicts it is given.
	fields = {
		f: [dict(row) for row in v] if f in policy.tables else v for f, v in values.items() if f != "name"
	}
	doc = frappe.get_doc({"doctype": resource.doctype, **fields})
	doc.insert(set_name=given_name)
	record_document(resource.doctype, key, doc.name)
	return UpsertResult(doc.name, "created", doc, policy)


def apply_changes(doc, values: dict, policy: FieldPolicy) -> bool:
	"""Set the supplied values on `doc`; True when any of them differs from what is stored."""
	changed = False
	for fieldname, value in values.items():
		if fieldname == "name":
			continue
		if fieldname in policy.tables:
			if not _rows_equal(doc.get(fieldname) or [], value, policy.tables[fieldname]):
				doc.set(fieldname, [])
				for row in value:
					doc.append(fieldname, dict(row))  # Frappe writes into the dict it is given
				changed = True
			continue
		df = policy.writable[fieldname]
		if not same_value(df, doc.get(fieldname), value):
			doc.set(fieldname, value)
			changed = True
	return changed


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


def resolve_name(resource: Resource, name: object, key: object) -> str:
	"""The name of the document a read or delete names, by `name` or by a `key` object; 404 if the
	caller cannot see it."""
	return resolve_document(resource, name, key).name


def resolve_document(resource: Resource, name: object, key: object):
	"""The document a read or delete names, by `name` or by a `key` object, loaded once; 404 if the
	caller cannot see it."""
	if name not in (None, ""):
		if not isinstance(name, str):
			raise BadRequest(_("name must be a string"), [{"pointer": "/name"}])
		found = name
	elif isinstance(key, dict) and key:
		for fieldname in key:
			if fieldname not in field_policy(resource).readable or isinstance(key[fieldname], dict | list):
				raise BadRequest(
					_("key must map readable fields to values"), [{"pointer": f"/key/{fieldname}"}]
				)
		matches = frappe.get_list(resource.doctype, filters=key, pluck="name", limit_page_length=2)
		if len(matches) > 1:
			raise Conflict(
				_("More than one {0} has this key").format(resource.doctype), [{"pointer": "/key"}]
			)
		found = matches[0] if matches else None
	else:
		raise BadRequest(
			_("Pass the document's name, or key as an object of key-field values"), [{"pointer": "/name"}]
		)
	doc = _existing_document(resource.doctype, found) if found else None
	if doc is None or not frappe.has_permission(resource.doctype, "read", doc=doc):
		raise NotFound(_("No {0} matches; it does not exist or you may not see it").format(resource.doctype))
	return doc


def _existing_document(doctype: str, name: str, for_update: bool = False):
	try:
		return frappe.get_doc(doctype, name, for_update=for_update)
	except frappe.DoesNotExistError:
		frappe.clear_last_message()
		return None


def get_record(resource: Resource, name: object = None, key: object = None) -> dict:
	authorize(resource, "read")
	return shape_document(resolve_document(resource, name, key), field_policy(resource))


def delete_record(resource: Resource, name: object = None, key: object = None) -> str:
	authorize(resource, "delete")
	found = resolve_name(resource, name, key)
	frappe.delete_doc(resource.doctype, found)
	return found

"""Values as the DocType stores them: a record is refused (422, naming each field) for anything the
caller may not write or that Frappe would coerce silently ("12abc" in an Int, an unknown Select option),
before anything is written."""

import re

import frappe
from frappe import _
from frappe.model import numeric_fieldtypes, table_fields
from frappe.utils import get_datetime, getdate

from integration_hub.documents.fields import FieldPolicy
from integration_hub.exceptions import BadRequest, ValidationFailed

MAX_STRING_LENGTH = 1_000_000
WHOLE_NUMBER = re.compile(r"\s*[-+]?\d+\s*")


def validate_record(data: object, policy: FieldPolicy, key_fields: tuple[str, ...], pointer: str) -> dict:
	"""Refuse (422, naming the field) anything the caller may not write; return the record's values."""
	if not isinstance(data, dict) or not data:
		raise BadRequest(_("A record must be a non-empty JSON object"), [{"pointer": pointer}])
	errors = []
	for fieldname in key_fields:
		if fieldname != "name" and not may_read_key_field(policy, fieldname):
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
		if fieldname in key_fields and fieldname not in policy.writable:
			# Finds the document; compared, never written (documents/keys.py).
			error = _key_value_error(policy, fieldname, value, field_pointer)
		else:
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


def may_read_key_field(policy: FieldPolicy, fieldname: str) -> bool:
	"""A key field names a readable field of the DocType, or `table.field` of a child table."""
	table, dot, child_field = fieldname.partition(".")
	if not dot:
		return fieldname in policy.readable
	return table in policy.tables and child_field in policy.tables[table].readable


def _key_value_error(policy: FieldPolicy, fieldname: str, value: object, pointer: str) -> dict | None:
	if fieldname == "name":
		return None if isinstance(value, str) else {"pointer": pointer, "detail": _("expected a string")}
	table, dot, child_field = fieldname.partition(".")
	df = policy.tables[table].readable[child_field] if dot else policy.readable[fieldname]
	problem = value_problem(df, value) if df is not None else None
	return {"pointer": pointer, "detail": problem} if problem else None


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
			if not is_whole_number(value):
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


def is_whole_number(value: object) -> bool:
	"""An int, a whole float, or text of one (sign and surrounding spaces allowed): what an Int field
	stores exactly."""
	if isinstance(value, bool | int):
		return True
	if isinstance(value, float):
		return value.is_integer()
	return isinstance(value, str) and bool(WHOLE_NUMBER.fullmatch(value))

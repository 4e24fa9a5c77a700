"""Desk validation that several of the hub's configuration DocTypes share: tables that list fields of a
DocType (Hub Resource, Hub Subscription, and the field maps checked in mapping/checks.py). Each check
says which row is wrong and why."""

from collections.abc import Callable, Iterable
from functools import partial

import frappe
from frappe import _
from frappe.model import default_fields, no_value_fields

from integration_hub.exceptions import InvalidConfiguration, InvalidFieldList

TABLE_FIELDTYPES = ("Table", "Table MultiSelect")


def is_value_field(meta, fieldname: str, *, standard: bool = True, tables: bool = True) -> bool:
	"""Whether `fieldname` holds a value of `meta`'s documents: a standard field (name, owner,
	modified…, not `doctype`) when `standard`, a child table when `tables`, or any field that is not
	layout (Section Break, HTML, Button…)."""
	if fieldname in default_fields:
		return standard and fieldname != "doctype"
	df = meta.get_field(fieldname)
	if not df:
		return False
	if df.fieldtype in TABLE_FIELDTYPES:
		return tables
	return df.fieldtype not in no_value_fields


def is_key_field(meta, fieldname: str) -> bool:
	"""A value field of the DocType, or `table.field`: a value field of one of its child tables (an
	Item's `barcodes.barcode`)."""
	table, dot, child_field = fieldname.partition(".")
	if not dot:
		return is_value_field(meta, fieldname, tables=False)
	df = meta.get_field(table)
	if not df or df.fieldtype != "Table":
		return False
	return is_value_field(frappe.get_meta(df.options), child_field, standard=False, tables=False)


def check_field_rows(
	rows: Iterable,
	attribute: str,
	doctype: str,
	title: str,
	allowed: Callable[[str], bool] | None = None,
	repeated: str | None = None,
	exc: type[InvalidConfiguration] = InvalidFieldList,
) -> None:
	"""Each row's `attribute` (stripped in place) must be an `allowed` field of `doctype` (default: any
	field holding a value, is_value_field), listed once; `exc` otherwise."""
	allowed = allowed or partial(is_value_field, frappe.get_meta(doctype))
	seen = set()
	for row in rows:
		fieldname = (row.get(attribute) or "").strip()
		row.set(attribute, fieldname)
		if not allowed(fieldname):
			frappe.throw(
				_("Row {0}: {1} is not a field of {2}").format(row.idx, frappe.bold(fieldname), doctype),
				title=title,
				exc=exc,
			)
		if fieldname in seen:
			frappe.throw(
				(repeated or _("Row {0}: {1} is listed twice")).format(row.idx, frappe.bold(fieldname)),
				exc=exc,
			)
		seen.add(fieldname)

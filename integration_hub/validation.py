"""Desk validation that several of the hub's configuration DocTypes share: tables that list fields of a
DocType (Hub Resource, Hub Subscription) and field maps (Hub Sync Job, Hub Inbound Endpoint, both on
the Hub Sync Field Map table). Each check says which row is wrong and why."""

from collections.abc import Callable, Iterable
from functools import partial

import frappe
from frappe import _
from frappe.model import default_fields, no_value_fields

from integration_hub.sync.mapping import TRANSFORMS, MappingError, parse_lookup

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


def check_field_rows(
	rows: Iterable,
	attribute: str,
	doctype: str,
	title: str,
	allowed: Callable[[str], bool] | None = None,
	repeated: str | None = None,
) -> None:
	"""Each row's `attribute` (stripped in place) must be an `allowed` field of `doctype` (default: any
	field holding a value, is_value_field), listed once."""
	allowed = allowed or partial(is_value_field, frappe.get_meta(doctype))
	seen = set()
	for row in rows:
		fieldname = (row.get(attribute) or "").strip()
		row.set(attribute, fieldname)
		if not allowed(fieldname):
			frappe.throw(
				_("Row {0}: {1} is not a field of {2}").format(row.idx, frappe.bold(fieldname), doctype),
				title=title,
			)
		if fieldname in seen:
			frappe.throw(
				(repeated or _("Row {0}: {1} is listed twice")).format(row.idx, frappe.bold(fieldname))
			)
		seen.add(fieldname)


def check_field_map(rows: list, doctype: str) -> None:
	"""A field map into `doctype` that can work: real fields (or `name`) each mapped once, known
	transforms with valid arguments, a remote field on every row but constants, and a key."""
	meta = frappe.get_meta(doctype)
	check_field_rows(
		rows,
		"local_field",
		doctype,
		title=_("Invalid field map"),
		allowed=lambda fieldname: fieldname == "name" or is_value_field(meta, fieldname, standard=False),
		repeated=_("Row {0}: {1} is mapped twice"),
	)
	for row in rows:
		row.remote_field = (row.remote_field or "").strip()
		if row.transform and row.transform not in TRANSFORMS:
			frappe.throw(_("Row {0}: unknown transform {1}").format(row.idx, row.transform))
		if not row.remote_field and row.transform != "constant":
			frappe.throw(_("Row {0}: set the remote field (only a constant needs none)").format(row.idx))
		if row.transform == "constant" and row.is_key:
			frappe.throw(_("Row {0}: a constant cannot identify a record").format(row.idx))
		if row.transform == "lookup":
			check_lookup(row)
	if not any(row.is_key for row in rows):
		frappe.throw(
			_("Tick Key on the field map rows that identify a record (e.g. a code or an email)"),
			title=_("No key"),
		)


def check_lookup(row) -> None:
	try:
		doctype, fieldname = parse_lookup(row.transform_argument)
	except MappingError as e:
		frappe.throw(_("Row {0}: {1}").format(row.idx, e.detail))
	if not frappe.db.exists("DocType", doctype) or not (
		fieldname == "name" or frappe.get_meta(doctype).get_field(fieldname)
	):
		frappe.throw(
			_("Row {0}: {1} is not a field of an existing DocType").format(row.idx, row.transform_argument)
		)

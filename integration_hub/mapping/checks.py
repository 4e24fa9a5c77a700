"""Desk validation of a field map (Hub Sync Job and Hub Inbound Endpoint, both on the Hub Sync Field
Map table): real fields each mapped once, valid lookup arguments, remote fields where they are needed,
and a key. Frappe itself refuses a transform that is not one of the row's options."""

import frappe
from frappe import _

from integration_hub.exceptions import InvalidFieldMap, MappingError
from integration_hub.field_tables import check_field_rows, is_value_field
from integration_hub.mapping.field_maps import parse_lookup


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
		exc=InvalidFieldMap,
	)
	for row in rows:
		row.remote_field = (row.remote_field or "").strip()
		if not row.remote_field and row.transform != "constant":
			frappe.throw(
				_("Row {0}: set the remote field (only a constant needs none)").format(row.idx),
				exc=InvalidFieldMap,
			)
		if row.transform == "constant" and row.is_key:
			frappe.throw(
				_("Row {0}: a constant cannot identify a record").format(row.idx), exc=InvalidFieldMap
			)
		if row.transform == "lookup":
			check_lookup(row)
	if not any(row.is_key for row in rows):
		frappe.throw(
			_("Tick Key on the field map rows that identify a record (e.g. a code or an email)"),
			title=_("No key"),
			exc=InvalidFieldMap,
		)


def check_lookup(row) -> None:
	try:
		doctype, fieldname = parse_lookup(row.transform_argument)
	except MappingError as e:
		frappe.throw(_("Row {0}: {1}").format(row.idx, e.detail), exc=InvalidFieldMap)
	if not frappe.db.exists("DocType", doctype) or not (
		fieldname == "name" or frappe.get_meta(doctype).get_field(fieldname)
	):
		frappe.throw(
			_("Row {0}: {1} is not a field of an existing DocType").format(row.idx, row.transform_argument),
			exc=InvalidFieldMap,
		)

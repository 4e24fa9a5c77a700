"""Natural keys: the fields an upsert finds its document by.

A key field is a field of the DocType (`item_code`, also one the caller may read but not write, such as
Contact's `email_id`, which ERPNext takes from the `email_ids` table) or a field of one of its child
tables, written `table.field` (`barcodes.barcode`: the Item that has a barcode row with this value). Key
fields the caller may not write are compared, never written.
"""

import frappe

from integration_hub.documents.fields import FieldPolicy
from integration_hub.documents.query import list_conditions, parse_filters


def child_key(fieldname: str) -> tuple[str, str] | None:
	"""(table field, child field) of a `table.field` key field, else None."""
	table, dot, child_field = fieldname.partition(".")
	return (table, child_field) if dot else None


def is_compared_only(fieldname: str, policy: FieldPolicy) -> bool:
	"""A key field whose value finds the document but is not written as it stands in the record."""
	return fieldname != "name" and fieldname not in policy.writable


def names_with_key(policy: FieldPolicy, key: dict) -> list[str]:
	"""The names of the documents with `key` that the caller may read, at most two (two: the key is
	ambiguous), through Frappe's permission engine. An amendment keeps the key of the cancelled document
	it amends: where both have it, the key names the one that is not cancelled."""
	filters = parse_filters([[fieldname, "=", value] for fieldname, value in key.items()], policy)
	names = _names_matching(policy.doctype, filters)
	if len(names) > 1 and frappe.get_meta(policy.doctype).is_submittable:
		current = _names_matching(policy.doctype, [*filters, [policy.doctype, "docstatus", "!=", 2]])
		return current or names
	return names


def _names_matching(doctype: str, filters: list[list]) -> list[str]:
	return frappe.get_list(doctype, pluck="name", limit_page_length=2, **list_conditions(doctype, filters))


def key_exists(doctype: str, key: dict) -> bool:
	"""Whether any document has `key`, whoever may see it (as `frappe.db.exists` answers): a caller's
	upsert must not create a second document with the key of one it may not see."""
	scalar = {fieldname: value for fieldname, value in key.items() if not child_key(fieldname)}
	parents: set[str] | None = None
	meta = frappe.get_meta(doctype)
	for fieldname, value in key.items():
		if not (parts := child_key(fieldname)):
			continue
		table, child_field = parts
		rows = frappe.db.get_values(
			meta.get_field(table).options,
			{"parenttype": doctype, "parentfield": table, child_field: value},
			"parent",
			order_by=None,
		)
		having = {row[0] for row in rows}
		parents = having if parents is None else parents & having
		if not parents:
			return False
	if parents is not None:
		scalar["name"] = ["in", sorted(parents)]
	return bool(frappe.db.exists(doctype, scalar))

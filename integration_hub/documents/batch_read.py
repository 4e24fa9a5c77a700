"""The documents that a bulk call's keys name, read at once: one query for the DocType and one per child
table, instead of a lookup and a document load per record.

Which document a key names is decided as `find_by_key` (documents/write.py) decides it for one
record: the document recorded on the key's lock row, if it still has the key; else, for a key of one
field that has a unique index (or of `name`), the one document with that value. The documents are
read with a locking read, as `frappe.get_doc(..., for_update=True)` reads them (the latest committed
version: an upsert of the key may have committed while this call waited for the key's lock), and built
from their rows as `frappe.get_doc` builds them, children included. Whether the caller may read or
write each one is still decided per document by Frappe's permission engine, by the upsert.

What this cannot decide for sure is left to the record-by-record lookup: a key of several fields that
no lock row records, a value that several documents share, a document that two records of the batch
name (the second must see what the first wrote), a match only the database's collation sees.
"""

from dataclasses import dataclass, field

import frappe

from integration_hub.documents.exposure import Resource
from integration_hub.documents.key_locks import comparable, has_key, key_lock_name
from integration_hub.locks import lock_rows


@dataclass
class BatchLookup:
	found: dict[int, object] = field(default_factory=dict)  # record index -> the Document its key names
	new: set[int] = field(default_factory=set)  # records whose key no document has (unique key field)


def look_up_batch(resource: Resource, keys: dict[int, dict], key_fields: tuple[str, ...]) -> BatchLookup:
	"""Lock the keys of the records (`keys`: index -> key values; in one statement, see
	documents/key_locks.py) and find the documents they name."""
	lookup = BatchLookup()
	if not keys:
		return lookup
	doctype = resource.doctype
	lock_names = {index: key_lock_name(doctype, key) for index, key in keys.items()}
	locks = lock_rows(list(lock_names.values()), doctype)
	recorded = {
		index: locks[name].reference_name for index, name in lock_names.items() if locks[name].reference_name
	}
	documents = read_for_update(doctype, set(recorded.values()))
	unmatched = {
		index: key
		for index, key in keys.items()
		if not (recorded.get(index) in documents and has_key(documents[recorded[index]], key))
	}
	fieldname = single_key_field(resource, key_fields, allow_name=True)
	by_value = (
		names_by_key_value(doctype, fieldname, [key[fieldname] for key in unmatched.values()])
		if fieldname
		else {}
	)
	documents.update(
		read_for_update(
			doctype, {names[0] for names in by_value.values() if len(names) == 1} - set(documents)
		)
	)
	repeated = _repeated_keys(keys)
	for index, key in keys.items():
		if index in unmatched:
			name = _only(by_value.get(comparable(key.get(fieldname))))
		else:
			name = recorded[index]
		if name in documents and has_key(documents[name], key):
			# A document that two records name goes to neither: the second must see what the first wrote.
			if _signature(key) not in repeated:
				lookup.found[index] = documents[name]
		elif (
			fieldname not in (None, "name")
			# No document recorded on the key's row, or the one recorded is gone (the read above is a
			# locking read: gone as last committed), and no other document has the key's value.
			and (index not in recorded or recorded[index] not in documents)
			and comparable(key[fieldname]) not in by_value
		):
			lookup.new.add(index)
	return lookup


def _signature(key: dict) -> tuple[str, ...]:
	return tuple(comparable(value) for value in key.values())


def _repeated_keys(keys: dict[int, dict]) -> set[tuple[str, ...]]:
	seen, repeated = set(), set()
	for key in keys.values():
		signature = _signature(key)
		(repeated if signature in seen else seen).add(signature)
	return repeated


def _only(names: list[str] | None) -> str | None:
	return names[0] if names and len(names) == 1 else None


def single_key_field(resource: Resource, key_fields: tuple[str, ...], allow_name: bool = False) -> str | None:
	"""The key's one field if a unique index (or, with `allow_name`, the primary key) keeps its values
	apart; else None."""
	if len(key_fields) != 1:
		return None
	fieldname = key_fields[0]
	if "." in fieldname:  # a child table's field (`barcodes.barcode`): several rows may hold a value
		return None
	if fieldname == "name":
		return fieldname if allow_name else None
	unique_index = getattr(frappe.db, "get_column_index", None)  # MariaDB's; elsewhere: no shortcut
	if not unique_index or not unique_index(f"tab{resource.doctype}", fieldname, unique=True):
		return None
	return fieldname


def names_by_key_value(doctype: str, fieldname: str | None, values: list) -> dict[str, list[str]]:
	"""The documents having each of `values` in `fieldname`, by comparable value: a consistent read that
	answers existence whoever may see the documents (as `frappe.db.exists` does)."""
	# Strings only: a number compared with a text column matches as a number ("05" = 5).
	values = sorted({value for value in values if isinstance(value, str) and value})
	if not fieldname or not values:
		return {}
	rows = frappe.db.get_values(
		doctype, {fieldname: ["in", values]}, ["name", fieldname], as_dict=False, order_by=None
	)
	by_value: dict[str, list[str]] = {}
	for name, value in rows:
		by_value.setdefault(comparable(value), []).append(name)
	return by_value


def read_for_update(doctype: str, names: set[str]) -> dict[str, object]:
	"""The documents `names` as last committed, locked until the transaction ends, built as
	`frappe.get_doc(doctype, name, for_update=True)` builds them; missing names are left out."""
	if not names:
		return {}
	names = sorted(names)
	rows = frappe.db.get_values(
		doctype, {"name": ["in", names]}, "*", as_dict=True, order_by="name asc", for_update=True
	)
	children: dict[str, dict[str, list]] = {row.name: {} for row in rows}
	for df in frappe.get_meta(doctype).get_table_fields():
		for row in children.values():
			row[df.fieldname] = []
		if frappe.get_meta(df.options).is_virtual:
			continue
		for child in frappe.db.get_values(
			df.options,
			{"parent": ["in", names], "parenttype": doctype, "parentfield": df.fieldname},
			"*",
			as_dict=True,
			order_by="parent asc, idx asc",
			for_update=True,
		):
			if child.parent in children:
				children[child.parent][df.fieldname].append(child)
	return {row.name: frappe.get_doc({**row, **children[row.name], "doctype": doctype}) for row in rows}

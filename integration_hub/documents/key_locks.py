"""Upserts of one natural key happen one after another, in whichever process they run.

Before a writer looks a key up, it locks the key's row of `tabHub Lock` (integration_hub/locks.py),
named after the DocType, the key fields and their values; writes of other keys do not wait. A writer
that waited for another one still cannot see, with an ordinary read, the document that one created
after its own transaction began (REPEATABLE READ), so the key's row also records the document the key
was last written to, and the locking read returns it. Key values are compared as the database compares
them, near enough: without trailing spaces and case.
"""

import functools
import hashlib
import json

from integration_hub.documents.deferred import defer
from integration_hub.locks import lock_rows, record_rows, update_locked_row

KEY_PREFIX = "key:"


def lock_keys(doctype: str, keys: list[dict]) -> None:
	"""Lock the keys of a batch in one statement (and one order, so two batches never deadlock)."""
	lock_rows([key_lock_name(doctype, key) for key in keys], doctype)


def recorded_document(doctype: str, key: dict) -> str | None:
	"""Lock the key; the document it was last written to by the hub (which may be gone since)."""
	name = key_lock_name(doctype, key)
	return lock_rows([name], doctype)[name].reference_name


def record_document(doctype: str, key: dict, document: str) -> None:
	"""After creating `document` with `key` (whose lock this transaction holds); inside a bulk call
	(documents/deferred.py), written with the call's others when it ends."""
	name = key_lock_name(doctype, key)
	lock_rows([name], doctype)
	if not defer(_record_documents, (doctype, name, str(document))):
		update_locked_row(name, reference_name=str(document))


def _record_documents(rows: list[tuple[str, str, str]]) -> None:
	"""Write the documents a bulk call created to their keys' rows, one statement per DocType."""
	by_doctype: dict[str, list[tuple[str, str]]] = {}
	for doctype, name, document in rows:
		by_doctype.setdefault(doctype, []).append((name, document))
	for doctype, references in by_doctype.items():
		record_rows(references, doctype)


def key_lock_name(doctype: str, key: dict) -> str:
	# A bulk call names each key's row three times (lock, look up, record): remember the last names.
	return _key_lock_name(doctype, tuple(key), tuple(comparable(value) for value in key.values()))


@functools.lru_cache(maxsize=4096)
def _key_lock_name(doctype: str, fields: tuple[str, ...], values: tuple[str, ...]) -> str:
	parts = [doctype, list(fields), list(values)]
	digest = hashlib.sha1(json.dumps(parts, separators=(",", ":")).encode(), usedforsecurity=False)
	return KEY_PREFIX + digest.hexdigest()


def has_key(doc, key: dict) -> bool:
	"""Whether `doc`'s values of the key fields are `key`'s, as the database compares them; for a key
	field of a child table (`barcodes.barcode`), whether one of its rows has the value."""
	return all(_has_value(doc, field, comparable(value)) for field, value in key.items())


def _has_value(doc, field: str, value: str) -> bool:
	table, dot, child_field = field.partition(".")
	if not dot:
		return comparable(doc.get(field)) == value
	return any(comparable(row.get(child_field)) == value for row in doc.get(table) or [])


def comparable(value: object) -> str:
	# Near the database's case-insensitive comparison (utf8mb4_unicode_ci ignores trailing spaces too).
	return "" if value is None else str(value).rstrip().casefold()

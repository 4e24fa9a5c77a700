"""What a user may read and write of an exposed DocType: exposure ∩ Frappe's field permissions.

Every read of a caller's data is shaped here, and every write is checked here first, so a field above
the caller's permlevel, or outside the resource's allowlist, never leaves the site and is never
silently written.
"""

from dataclasses import dataclass, field

import frappe
from frappe.model import table_fields
from frappe.utils import cint, flt

from integration_hub.documents.exposure import Resource

# Always readable (when the caller may read the document at all): identity, order and version.
METADATA_FIELDS = ("name", "creation", "modified", "docstatus")
# Readable where no allowlist narrows the resource.
OPTIONAL_METADATA_FIELDS = ("owner", "modified_by")
NEVER_EXPOSED_TYPES = ("Password", "Button", "Fold", "Heading", "HTML", "Image")
# Members the API adds to documents (documents/versions.py): a field so named would be shadowed.
VERSION_FIELD = "_version"
RESERVED_FIELDNAMES = (VERSION_FIELD,)
NUMERIC_CASTS = {"Int": cint, "Long Int": cint, "Check": cint}
NUMERIC_CASTS.update(dict.fromkeys(("Float", "Currency", "Percent", "Rating", "Duration"), flt))


@dataclass
class FieldPolicy:
	doctype: str
	readable: dict[str, object]  # fieldname -> DocField (None for metadata fields)
	writable: dict[str, object]
	tables: dict[str, "FieldPolicy"] = field(default_factory=dict)

	def may_read(self, fieldname: str) -> bool:
		return fieldname in self.readable or fieldname in self.tables

	def scalar_readable(self) -> list[str]:
		return list(self.readable)


def field_policy(resource: Resource, user: str | None = None) -> FieldPolicy:
	"""The fields of `resource` that `user` (default: the session user) may read and write."""
	return doctype_field_policy(resource.doctype, user, resource.allowlist)


def doctype_field_policy(
	doctype: str, user: str | None = None, allowlist: frozenset[str] | None = None
) -> FieldPolicy:
	"""The fields of any DocType that `user` may read and write, narrowed to `allowlist` if given
	(outbound event payloads use this for a subscription's `run_as` user and field list)."""
	user = user or frappe.session.user
	cache = frappe.local.flags.setdefault("integration_hub_field_policies", {})
	cache_key = (doctype, user, allowlist)
	if cache_key not in cache:
		cache[cache_key] = _build_policy(doctype, user, allowlist)
	return cache[cache_key]


def _build_policy(
	doctype: str, user: str, allowlist: frozenset[str] | None, parenttype: str | None = None
) -> FieldPolicy:
	meta = frappe.get_meta(doctype)
	permissions_doctype = parenttype or doctype
	parent_meta = frappe.get_meta(permissions_doctype)
	read_levels = _permlevels(parent_meta, "read", user)
	write_levels = _permlevels(parent_meta, "write", user)

	def exposed(fieldname: str) -> bool:
		return allowlist is None or fieldname in allowlist

	readable: dict[str, object] = {name: None for name in METADATA_FIELDS if not meta.istable}
	if allowlist is None and not meta.istable:
		readable.update({name: None for name in OPTIONAL_METADATA_FIELDS})
	elif not meta.istable:
		readable.update({name: None for name in OPTIONAL_METADATA_FIELDS if name in allowlist})
	if meta.istable:
		readable["name"] = None
		readable["idx"] = None

	writable: dict[str, object] = {}
	tables: dict[str, FieldPolicy] = {}
	for df in meta.fields:
		if df.fieldtype in NEVER_EXPOSED_TYPES or df.fieldtype in frappe.model.display_fieldtypes:
			continue
		if df.fieldname in RESERVED_FIELDNAMES:
			continue
		if not exposed(df.fieldname) or df.permlevel not in read_levels:
			continue
		if df.fieldtype in table_fields:
			tables[df.fieldname] = _build_policy(df.options, user, None, parenttype=permissions_doctype)
			continue
		readable[df.fieldname] = df
		if df.permlevel in write_levels and not df.read_only and not df.is_virtual:
			writable[df.fieldname] = df
	if not meta.istable:
		# A table the caller may read but not write stays out of `writable` through its permlevel.
		for fieldname in list(tables):
			df = meta.get_field(fieldname)
			if df.permlevel in write_levels and not df.read_only:
				writable[fieldname] = df
	return FieldPolicy(doctype=doctype, readable=readable, writable=writable, tables=tables)


def _permlevels(meta, permission_type: str, user: str) -> set[int]:
	if not meta.get_permissions():
		return {0}
	levels = set(meta.get_permlevel_access(permission_type=permission_type, user=user))
	if 0 not in levels and permission_type == "read":
		if frappe.share.get_shared(meta.name, user, rights=["read"], limit=1):
			levels.add(0)
	return levels


def shape_document(doc, policy: FieldPolicy) -> dict:
	"""The document as the policy's user may see it, child tables included."""
	shaped = {fieldname: _stored_type(df, doc.get(fieldname)) for fieldname, df in policy.readable.items()}
	for table, child_policy in policy.tables.items():
		shaped[table] = [shape_document(row, child_policy) for row in doc.get(table) or []]
	return shaped


def _stored_type(df, value: object) -> object:
	"""A number written as "5" (or a check as true) stays so in memory until the document is reloaded:
	answer with the type the database stored, as a read would."""
	if df is None or not isinstance(value, str | bool):
		return value
	cast = NUMERIC_CASTS.get(df.fieldtype)
	return cast(value) if cast else value

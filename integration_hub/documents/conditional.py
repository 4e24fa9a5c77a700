"""`get_document` as a conditional read: its ETag, and `If-None-Match` answered without a body.

Permission comes first, so a 304 never tells a caller who may not read the document that it exists.
Without `expand` the ETag is the document's `_version`, and an `If-None-Match` is first compared with
the version read in one permission-filtered query (`frappe.get_list` of `modified`), where Frappe's
list permissions decide what its document permission would (no `has_permission` hook, no User
Permissions); otherwise, or when that does not match, the document is loaded and its permission
checked in full. With `expand` the answer depends on the linked documents too, so the ETag is a hash of
the whole shaped answer (use the body's `_version`, not that ETag, as the expected version of a write).
"""

import hashlib
from dataclasses import dataclass

import frappe

from integration_hub.documents.expansion import expand_documents, parse_expand
from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import FieldPolicy, field_policy
from integration_hub.documents.permissions import no_document_rules
from integration_hub.documents.read import resolve_document, resolve_name
from integration_hub.documents.versions import document_version, matches_if_none_match, shape_versioned


@dataclass
class Read:
	etag: str  # unquoted
	doc: dict | None  # None: the caller's copy is current (304)


def read_document(
	resource: Resource, name: object, key: object, expand: object, if_none_match: str | None
) -> Read:
	authorize(resource, "read")
	policy = field_policy(resource)
	tree = parse_expand(expand, policy)
	if if_none_match and not tree:
		version = _listed_version(resource, policy, name, key)
		if version is not None and matches_if_none_match(if_none_match, version):
			return Read(version, None)
	doc = resolve_document(resource, name, key)  # authorized above
	version = document_version(resource.doctype, doc.name, doc.modified, policy)
	if not tree:
		if matches_if_none_match(if_none_match, version):
			return Read(version, None)
		return Read(version, shape_versioned(doc, policy))
	shaped = shape_versioned(doc, policy)
	expand_documents([shaped], tree)
	answer_version = hashlib.sha256(frappe.as_json(shaped, indent=None).encode()).hexdigest()[:24]
	return Read(answer_version, None if matches_if_none_match(if_none_match, answer_version) else shaped)


def _listed_version(resource: Resource, policy: FieldPolicy, name: object, key: object) -> str | None:
	"""The document's version read with its permission check in one query (Frappe's list permissions:
	roles, owner rules, sharing, permission query conditions), where that check cannot let through what
	the document's own permission check would refuse; None otherwise, or when the query finds it not:
	then the document is loaded and checked in full."""
	if not _listing_decides_reading(resource.doctype):
		return None
	found = (
		name if isinstance(name, str) and name else resolve_name(resource, name, key, check_permission=False)
	)
	rows = frappe.get_list(
		resource.doctype, filters={"name": found}, fields=["modified"], limit_page_length=1, order_by=None
	)
	return document_version(resource.doctype, found, rows[0].modified, policy) if rows else None


def _listing_decides_reading(doctype: str) -> bool:
	"""A document permission hook (`has_permission`), or User Permissions, can refuse a document that
	its list shows: only without either does the list decide."""
	return no_document_rules(doctype)

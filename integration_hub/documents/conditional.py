"""`get_document` as a conditional read: its ETag, and `If-None-Match` answered without a body.

Permission comes first: the document is loaded and checked against the caller's read permission
before its version is compared, so a 304 never tells a caller who may not read it that it exists.
Without `expand` the ETag is the document's `_version`, and a match costs no shaping at all; with
`expand` the answer depends on the linked documents too, so the ETag is a hash of the whole shaped
answer (use the body's `_version`, not that ETag, as the expected version of a write).
"""

import hashlib
from dataclasses import dataclass

import frappe

from integration_hub.documents.expansion import expand_documents, parse_expand
from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import field_policy
from integration_hub.documents.upsert import readable_document
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
	doc = readable_document(resource, name, key)
	version = document_version(resource.doctype, doc.name, doc.modified, policy)
	if not tree:
		if matches_if_none_match(if_none_match, version):
			return Read(version, None)
		return Read(version, shape_versioned(doc, policy))
	shaped = shape_versioned(doc, policy)
	expand_documents([shaped], tree)
	answer_version = hashlib.sha256(frappe.as_json(shaped, indent=None).encode()).hexdigest()[:24]
	return Read(answer_version, None if matches_if_none_match(if_none_match, answer_version) else shaped)

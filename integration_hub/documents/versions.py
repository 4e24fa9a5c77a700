"""Document versions: what `get_document` sends as its ETag and every returned document carries as
`_version`, and what a write may expect (`If-Match`, or `_version` in a record) to refuse a stale edit.

A version is a short hash of the DocType, the name, `modified` and a fingerprint of the fields the
caller may read: a save changes it, and two callers whose field policies differ never share a version
for different bodies. It is quoted as a strong ETag (`"…"`) in headers and bare in bodies; both forms
are accepted wherever a version is expected.
"""

import hashlib

from werkzeug.http import parse_etags, quote_etag

import frappe
from frappe import _
from frappe.utils import get_datetime

from integration_hub.documents.fields import VERSION_FIELD, FieldPolicy, shape_document
from integration_hub.exceptions import BadRequest, PreconditionFailed

ANY = "*"
_FINGERPRINTS = "integration_hub_policy_fingerprints"


def document_version(doctype: str, name: str, modified: object, policy: FieldPolicy) -> str:
	stamp = get_datetime(modified).isoformat(timespec="microseconds")
	text = "\x1f".join((doctype, str(name), stamp, policy_fingerprint(policy)))
	return hashlib.sha256(text.encode()).hexdigest()[:24]


def policy_fingerprint(policy: FieldPolicy) -> str:
	"""The readable fields of the policy, child tables included, as a short hash (once per request)."""
	cache = frappe.local.flags.setdefault(_FINGERPRINTS, {})
	key = id(policy)
	if key not in cache:
		cache[key] = (policy, hashlib.sha256(repr(_readable_tree(policy)).encode()).hexdigest()[:16])
	return cache[key][1]  # the policy is kept with it, so that its id is not reused within the request


def _readable_tree(policy: FieldPolicy) -> tuple:
	tables = tuple((name, _readable_tree(child)) for name, child in sorted(policy.tables.items()))
	return (policy.doctype, tuple(sorted(policy.readable)), tables)


def versioned(shaped: dict, doctype: str, policy: FieldPolicy) -> dict:
	"""`shaped` (a document or a list row, with `name` and `modified`) with its `_version`."""
	shaped[VERSION_FIELD] = document_version(doctype, shaped["name"], shaped["modified"], policy)
	return shaped


def shape_versioned(doc, policy: FieldPolicy) -> dict:
	"""The document as the caller may see it, with its version: what every API answer returns."""
	return versioned(shape_document(doc, policy), doc.doctype, policy)


def etag(version: str) -> str:
	return quote_etag(version)


# --- expected versions -------------------------------------------------------------------------


def parse_expected(value: object, pointer: str) -> frozenset[str] | None:
	"""The versions a write accepts, from an `If-Match` header or a `_version`: quoted or bare,
	several separated by commas, or `*` (any existing document); None when nothing is expected."""
	if value is None or value == "":
		return None
	if not isinstance(value, str):
		raise BadRequest(_("An expected version must be a string"), [{"pointer": pointer}])
	text = value.strip()
	if text == ANY:
		return frozenset({ANY})
	if not text.startswith(('"', "W/")):
		return frozenset(part.strip() for part in text.split(",") if part.strip())
	tags = parse_etags(text)
	strong = frozenset(tags.as_set())  # If-Match compares strongly: a weak tag never matches
	if not strong:
		raise BadRequest(_('If-Match must name versions as strong ETags ("…"), or *'), [{"pointer": pointer}])
	return strong


def expected_once(header: str | None, body_value: object, body_pointer: str) -> frozenset[str] | None:
	"""One expected version for a single write: from `If-Match`, or from its body form; not both."""
	from_header = parse_expected(header, "/headers/If-Match")
	from_body = parse_expected(body_value, body_pointer)
	if from_header is not None and from_body is not None and from_header != from_body:
		raise BadRequest(
			_("Give the expected version once: in If-Match or in {0}").format(body_pointer),
			[{"pointer": body_pointer}],
		)
	return from_header if from_header is not None else from_body


def pop_expected(
	record: object, pointer: str, if_match: str | None = None
) -> tuple[object, frozenset[str] | None]:
	"""A record without its `_version`, and the versions the write expects: that field's, or the
	single call's `If-Match` (not both)."""
	if not isinstance(record, dict) or VERSION_FIELD not in record:
		return record, parse_expected(if_match, "/headers/If-Match")
	record = dict(record)
	given = record.pop(VERSION_FIELD)
	return record, expected_once(if_match, given, f"{pointer}/{VERSION_FIELD}")


def require_expected(doc, policy: FieldPolicy, expected: frozenset[str] | None, pointer: str) -> None:
	"""412 PRECONDITION_FAILED, with the current version and document, unless `doc` (read as last
	committed, under a lock) is at an expected version. The caller may read `doc`."""
	if expected is None or ANY in expected:
		return
	current = shape_versioned(doc, policy)
	if current[VERSION_FIELD] not in expected:
		raise PreconditionFailed(
			_(
				"{0} {1} has changed since version {2}; read it again, then retry with its current version"
			).format(doc.doctype, doc.name, ", ".join(sorted(expected))),
			[{"pointer": pointer, "detail": _("not the current version")}],
			current[VERSION_FIELD],
			current,
		)


def require_absent_expectation(expected: frozenset[str] | None, doctype: str, pointer: str) -> None:
	"""A version was expected of a document that does not exist: 412, and nothing is created."""
	if expected is not None:
		raise PreconditionFailed(
			_("No {0} has this key, so it cannot be at the expected version").format(doctype),
			[{"pointer": pointer, "detail": _("no such document")}],
			None,
		)


def matches_if_none_match(header: str | None, version: str) -> bool:
	"""Whether a conditional GET's `If-None-Match` names `version` (weak comparison, as RFC 9110 says)."""
	if not header:
		return False
	tags = parse_etags(header)
	return tags.star_tag or tags.contains_weak(version)

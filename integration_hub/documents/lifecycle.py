"""A document's life cycle through the API: submit, cancel, amend.

In ERPNext a transaction counts only once it is submitted (stock moves, the ledgers are booked), so an
integration must be able to submit what it makes, cancel it, and amend what was cancelled. Each
transition is Frappe's own (`doc.submit()`, `doc.cancel()`, an amendment named by Frappe's rule,
`name-1`), authorized as every operation is (exposure, the key's scope, the DocType permission: see
exposure.authorize) and then by Frappe's permission on the document itself (`submit`, `cancel`, `amend`:
the user's roles, User Permissions, hooks). A write may also submit what it wrote in the same
transaction (`"submit": true`): both happen, or neither.

A submitted document keeps what it was submitted with: writes to it are refused with 409, except to its
"Allow on Submit" fields, which are saved as Frappe's update after submit saves them (documents/write.py);
a cancelled document is never written.
"""

from collections.abc import Callable

import frappe
from frappe import _
from frappe.model.docstatus import DocStatus

from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import field_policy
from integration_hub.documents.permissions import has_document_permission
from integration_hub.documents.read import resolve_document
from integration_hub.documents.validation import validate_record
from integration_hub.documents.versions import require_expected
from integration_hub.documents.write import UpsertResult, apply_changes
from integration_hub.exceptions import Conflict, OperationNotPermitted, ValidationFailed

IF_MATCH_POINTER = "/headers/If-Match"


def require_submittable(resource: Resource, pointer: str = "/doctype") -> None:
	if not frappe.get_meta(resource.doctype).is_submittable:
		raise ValidationFailed(
			_("{0} is not submittable: its documents have no submit, cancel or amend").format(
				resource.doctype
			),
			[{"pointer": pointer, "detail": _("not submittable")}],
		)


def submit_record(
	resource: Resource, name: object = None, key: object = None, expected: frozenset[str] | None = None
) -> UpsertResult:
	"""Submit the draft `name` (or the one with `key`); a document submitted already is `unchanged`."""
	doc, policy = _locked(resource, "submit", name, key, expected)
	status = DocStatus(doc.docstatus)
	if status.is_submitted():
		return UpsertResult(doc.name, "unchanged", doc, policy)
	if status.is_cancelled():
		raise _cancelled(doc)
	submit(doc)
	return UpsertResult(doc.name, "submitted", doc, policy)


def cancel_record(
	resource: Resource, name: object = None, key: object = None, expected: frozenset[str] | None = None
) -> UpsertResult:
	"""Cancel the submitted document; one cancelled already is `unchanged`, a draft is a 409 (delete it)."""
	doc, policy = _locked(resource, "cancel", name, key, expected)
	status = DocStatus(doc.docstatus)
	if status.is_cancelled():
		return UpsertResult(doc.name, "unchanged", doc, policy)
	if status.is_draft():
		raise Conflict(
			_(
				"{0} {1} is a draft: only a submitted document can be cancelled (delete a draft instead)"
			).format(doc.doctype, doc.name),
			[{"pointer": "/name", "detail": _("a draft")}],
		)
	_require_document_permission(doc, "cancel")
	doc.cancel()
	return UpsertResult(doc.name, "cancelled", doc, policy)


def amend_record(
	resource: Resource,
	name: object = None,
	key: object = None,
	data: object = None,
	expected: frozenset[str] | None = None,
	*,
	submit_it: bool = False,
) -> UpsertResult:
	"""A new draft amending the cancelled document, named by Frappe's amendment rule (`SINV-0001-1`),
	with `data`'s changes (fields the caller may write); submitted too with `submit_it`."""
	original, policy = _locked(resource, "create", name, key, expected)
	if not DocStatus(original.docstatus).is_cancelled():
		raise Conflict(
			_("Only a cancelled document can be amended; {0} {1} is {2}").format(
				original.doctype, original.name, _docstatus_label(original.docstatus)
			),
			[{"pointer": "/name", "detail": _("not cancelled")}],
		)
	_require_document_permission(original, "amend")
	values = validate_record(data, policy, (), "/data") if data not in (None, {}) else {}
	amendment = frappe.copy_doc(original)
	amendment.amended_from = original.name
	amendment.docstatus = DocStatus.draft()
	apply_changes(amendment, values, policy)
	amendment.insert()
	if submit_it:
		authorize(resource, "submit")
		submit(amendment)
	return UpsertResult(amendment.name, "created", amendment, policy)


def submit_written(
	resource: Resource, result: UpsertResult, before_write: Callable[[], None] | None = None
) -> UpsertResult:
	"""After a write with `"submit": true`: submit the draft it created or updated, in the same
	transaction. A document submitted already stays as it is. `before_write` is called before the
	submit writes anything (bulk.py sets the record's savepoint there)."""
	authorize(resource, "submit")
	require_submittable(resource, "/submit")
	doc = result.document
	status = DocStatus(doc.docstatus)
	if status.is_submitted():
		return result
	if status.is_cancelled():
		raise _cancelled(doc)
	if before_write is not None:
		before_write()
	submit(doc)
	status = "submitted" if result.status == "unchanged" else result.status
	return UpsertResult(doc.name, status, doc, result.policy)


def submit_on_insert(resource: Resource, doc) -> None:
	"""Make a new document insert as submitted. Frappe then runs the submit inside the insert (validate
	and before_submit, then on_submit, after checking the submit permission on the document), as the
	Desk's Submit of a new form does: the document is validated once, where an insert followed by a
	submit would save it twice and validate it twice."""
	authorize(resource, "submit")
	require_submittable(resource, "/submit")
	doc.docstatus = DocStatus.submitted()


def submit(doc) -> None:
	"""Frappe's submit, after Frappe's submit permission on this document (roles, User Permissions)."""
	_require_document_permission(doc, "submit")
	doc.submit()


def _locked(resource: Resource, operation: str, name: object, key: object, expected: frozenset[str] | None):
	"""After authorizing `operation` on a submittable resource: the document named (404 if the caller
	cannot read it), as last committed and locked until the transaction ends, at the version the caller
	expects it at."""
	authorize(resource, operation)
	require_submittable(resource)
	found = resolve_document(resource, name, key)
	doc = frappe.get_doc(resource.doctype, found.name, for_update=True)
	policy = field_policy(resource)
	require_expected(doc, policy, expected, IF_MATCH_POINTER)
	return doc, policy


def _require_document_permission(doc, ptype: str) -> None:
	if not has_document_permission(doc, ptype):
		raise OperationNotPermitted(
			_("You are not permitted to {0} {1} {2}").format(_(ptype), doc.doctype, doc.name)
		)


def _cancelled(doc) -> Conflict:
	return Conflict(
		_("{0} {1} is cancelled: it cannot change; amend it to make a new version").format(
			doc.doctype, doc.name
		),
		[{"pointer": "/name", "detail": _("cancelled")}],
	)


def _docstatus_label(docstatus: int) -> str:
	return [_("a draft"), _("submitted"), _("cancelled")][int(docstatus)]

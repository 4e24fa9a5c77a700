"""Calling a curated method as the caller: the method's own permission checks apply as in the Desk.

The hub adds what it adds to every call (authentication, the key's scope, rate and input limits,
Idempotency-Key, problem+json: api/endpoint.py and security/) and shapes what comes back: a new
document that a mapper returns is answered as the caller may read it under its DocType's Hub Resource,
or saved (and submitted) in the same call.
"""

import json

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.documents.creation import create_prepared
from integration_hub.documents.exposure import authorize, get_resource
from integration_hub.documents.fields import (
	METADATA_FIELDS,
	OPTIONAL_METADATA_FIELDS,
	field_policy,
	shape_document,
)
from integration_hub.exceptions import BadRequest, OperationNotPermitted
from integration_hub.methods.arguments import check_arguments
from integration_hub.methods.catalog import HubMethod, enabled_methods, get_method, resolve
from integration_hub.security.api_keys import current_key, key_methods, require_method_scope

READ_ONLY_SAVEPOINT = "integration_hub_only_reads"
NEW_DOCUMENT_METADATA = frozenset((*METADATA_FIELDS, *OPTIONAL_METADATA_FIELDS, "idx"))


def call_method(
	name: object, args: dict | None, *, save: bool = False, submit: bool = False, data: dict | None = None
) -> dict:
	"""`{"method", "result"}`; for a method that returns a new document, `result` is that document
	(`save`: the saved one, `{"name", "status", "doc"}`, submitted too with `submit`)."""
	method = get_method(name)
	require_method_scope(method.name)
	function = callable_function(method)
	arguments = check_arguments(function, args)
	if (save or submit or data) and not method.returns_doctype:
		raise BadRequest(
			_("{0} does not return a new document: save, submit and data do not apply").format(method.name),
			[{"pointer": "/save" if save else "/submit" if submit else "/data"}],
		)
	if data and not (save or submit):
		raise BadRequest(
			_("data changes the document before it is saved: send save (or submit) with it"),
			[{"pointer": "/data", "detail": _("needs save")}],
		)
	result = _run(function, arguments, method.only_reads)
	if isinstance(result, Document):
		return {
			"method": method.name,
			"result": _document_result(method, result, save or submit, submit, data),
		}
	return {"method": method.name, "result": json.loads(frappe.as_json(result))}


def callable_methods() -> list[tuple[HubMethod, object]]:
	"""The enabled methods this caller may call (a key: those it lists), with their functions."""
	key = current_key()
	allowed = key_methods(key) if key is not None else None
	found = []
	for method in enabled_methods().values():
		if allowed is not None and method.name not in allowed:
			continue
		function, _refusal = resolve(method.path)
		if function is not None:
			found.append((method, function))
	return found


def callable_function(method: HubMethod):
	function, refusal = resolve(method.path)
	if function is None:
		raise OperationNotPermitted(
			_("{0} cannot be called through the hub: {1}").format(method.name, refusal),
			[{"pointer": "/method", "detail": refusal}],
		)
	return function


def _run(function, arguments: dict, only_reads: bool):
	if not only_reads:
		return frappe.call(function, **arguments)
	frappe.db.savepoint(READ_ONLY_SAVEPOINT)
	result = frappe.call(function, **arguments)  # a failure rolls the whole call back anyway
	frappe.db.rollback(save_point=READ_ONLY_SAVEPOINT)  # whatever a reading method wrote
	return result


def _document_result(method: HubMethod, doc: Document, save: bool, submit: bool, data: dict | None) -> dict:
	"""The document a method made, through its DocType's resource: never fields the caller may not read."""
	if method.returns_doctype and doc.doctype != method.returns_doctype:
		raise OperationNotPermitted(
			_("{0} returned a {1}, not the {2} its Hub Method declares").format(
				method.name, doc.doctype, method.returns_doctype
			)
		)
	resource = get_resource(doc.doctype)
	authorize(resource, "read")
	if save:
		return create_prepared(resource, doc, data, submit=submit).as_dict()
	return unsaved_document(doc, field_policy(resource))


def unsaved_document(doc: Document, policy) -> dict:
	"""A new document as the caller may read it, without the name and metadata it does not have yet."""
	shaped = shape_document(doc, policy)
	return {"doctype": doc.doctype, **_without_metadata(shaped, policy)}


def _without_metadata(shaped: dict, policy) -> dict:
	values = {key: value for key, value in shaped.items() if key not in NEW_DOCUMENT_METADATA}
	for table in policy.tables:
		values[table] = [_without_metadata(row, policy.tables[table]) for row in values.get(table) or []]
	return values

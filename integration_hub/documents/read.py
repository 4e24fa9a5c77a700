"""Reading one document by its name or its key, as the caller may see it: 404 for a document that does
not exist and for one the caller may not read alike."""

import frappe
from frappe import _

from integration_hub.documents.exposure import Resource
from integration_hub.documents.fields import field_policy
from integration_hub.documents.keys import names_with_key
from integration_hub.documents.permissions import has_document_permission
from integration_hub.documents.validation import may_read_key_field
from integration_hub.exceptions import BadRequest, Conflict, NotFound


def resolve_name(resource: Resource, name: object, key: object, *, check_permission: bool = True) -> str:
	"""The name of the document a read or delete names, by `name` or by a `key` object; 404 if the
	caller cannot see it (`check_permission=False`: the caller checks read permission itself)."""
	if check_permission:
		return resolve_document(resource, name, key).name
	found = _named(resource, name, key)
	if not found:
		raise _not_found(resource)
	return found


def resolve_document(resource: Resource, name: object, key: object):
	"""The document a read or delete names, by `name` or by a `key` object, loaded once; 404 if the
	caller cannot see it."""
	found = _named(resource, name, key)
	doc = existing_document(resource.doctype, found) if found else None
	if doc is None or not has_document_permission(doc, "read"):
		raise _not_found(resource)
	return doc


def _named(resource: Resource, name: object, key: object) -> str | None:
	"""The name given, or that of the one document with the given key (None when none has it)."""
	if name not in (None, ""):
		if not isinstance(name, str):
			raise BadRequest(_("name must be a string"), [{"pointer": "/name"}])
		found = name
	elif isinstance(key, dict) and key:
		policy = field_policy(resource)
		for fieldname in key:
			if not may_read_key_field(policy, fieldname) or isinstance(key[fieldname], dict | list):
				raise BadRequest(
					_("key must map readable fields to values"), [{"pointer": f"/key/{fieldname}"}]
				)
		matches = names_with_key(policy, key)
		if len(matches) > 1:
			raise Conflict(
				_("More than one {0} has this key").format(resource.doctype), [{"pointer": "/key"}]
			)
		found = matches[0] if matches else None
	else:
		raise BadRequest(
			_("Pass the document's name, or key as an object of key-field values"), [{"pointer": "/name"}]
		)
	return found


def existing_document(doctype: str, name: str, for_update: bool = False):
	try:
		return frappe.get_doc(doctype, name, for_update=for_update)
	except frappe.DoesNotExistError:
		frappe.clear_last_message()
		return None


def _not_found(resource: Resource) -> NotFound:
	return NotFound(_("No {0} matches; it does not exist or you may not see it").format(resource.doctype))

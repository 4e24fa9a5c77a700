"""Creating documents whose names the DocType generates (naming series, hash, autoincrement, a format):
a client knows no natural key for a Sales Invoice or a ToDo before it exists, so it cannot upsert one.

`create_record` makes a new document with the validation, permissions and field policy of an upsert.
A retry is made safe by the request's `Idempotency-Key` (api/endpoint.py), not by a key lookup. Where
the resource does have a natural key and the record gives it, the key is locked and looked up as an
upsert would: a document that already has it is a 409 (upsert it instead), never a duplicate. A `name`
in the record is taken only where the naming rule lets a client choose names (documents/naming.py);
where the DocType generates its names it is refused with 422.
"""

import frappe
from frappe import _

from integration_hub.documents.exposure import Resource, authorize
from integration_hub.documents.fields import VERSION_FIELD, field_policy
from integration_hub.documents.key_locks import record_document
from integration_hub.documents.lifecycle import submit_on_insert
from integration_hub.documents.naming import name_for_new_document
from integration_hub.documents.validation import validate_record
from integration_hub.documents.write import UpsertResult, apply_changes, find_by_key
from integration_hub.exceptions import BadRequest, Conflict


def create_record(
	resource: Resource, data: object, pointer: str = "/data", *, submit: bool = False
) -> UpsertResult:
	"""`submit`: the new document is inserted as submitted (lifecycle.submit_on_insert)."""
	authorize(resource, "create")
	policy = field_policy(resource)
	if isinstance(data, dict) and VERSION_FIELD in data:
		raise BadRequest(
			_("A new document has no version to expect: leave {0} out").format(VERSION_FIELD),
			[{"pointer": f"{pointer}/{VERSION_FIELD}"}],
		)
	given_name = isinstance(data, dict) and data.get("name") not in (None, "")
	values = dict(validate_record(data, policy, ("name",) if given_name else (), pointer))
	key = _natural_key(resource, values)
	if key and find_by_key(resource, key, pointer):
		raise Conflict(
			_("A {0} with this key exists already; upsert it to change it").format(resource.doctype),
			[{"pointer": pointer, "detail": _("key exists")}],
		)
	name = name_for_new_document(resource.doctype, values, policy, pointer) if given_name else None
	doc = frappe.new_doc(resource.doctype)
	apply_changes(doc, values, policy)
	if submit:
		submit_on_insert(resource, doc)
	doc.insert(set_name=name)
	if key:
		record_document(resource.doctype, key, doc.name)
	return UpsertResult(doc.name, "created", doc, policy)


def _natural_key(resource: Resource, values: dict) -> dict | None:
	"""The record's values of the resource's natural key, if it has one and the record gives it all."""
	if resource.key_fields == ("name",) or any(values.get(f) in (None, "") for f in resource.key_fields):
		return None
	return {fieldname: values[fieldname] for fieldname in resource.key_fields}


def create_prepared(
	resource: Resource, doc, data: object, pointer: str = "/data", *, submit: bool = False
) -> UpsertResult:
	"""Insert a new document that server code prepared (an ERPNext mapper's Delivery Note made from a
	Sales Order), with the caller's changes in `data`. The mapper's links back to its source (the rows'
	`against_sales_order`, `so_detail`) are read-only to every caller, so the document cannot travel
	through the caller and come back whole: it is saved here, as the Desk saves a mapped form. Changes
	are to the document's own fields; its rows are the mapper's."""
	authorize(resource, "create")
	policy = field_policy(resource)
	values = validate_record(data, policy, (), pointer) if data not in (None, {}) else {}
	for fieldname in values:
		if fieldname in policy.tables:
			raise BadRequest(
				_("The rows of {0} come from the method: change them after saving the document").format(
					fieldname
				),
				[{"pointer": f"{pointer}/{fieldname}", "detail": _("set by the method")}],
			)
	apply_changes(doc, values, policy)
	if submit:
		submit_on_insert(resource, doc)
	doc.insert()
	return UpsertResult(doc.name, "created", doc, policy)

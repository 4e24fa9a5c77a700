"""Event payloads, frozen when the change happens, as the subscription's `run_as` user may see them.

`{"type": "sales_order.updated", "timestamp": "...Z", "data": {"doctype", "name", "object": {...},
"previous_attributes": {...}}, "request": {"id": "req_..." | null}}`: `object` carries only the fields
`run_as` may read (and the subscription's field list allows), through the same field policy as the
document API; for updates, `previous_attributes` holds the earlier values of the readable fields that
changed; `request.id` is the X-Request-Id of the API call that caused the change.
"""

import json
from datetime import datetime

import frappe

from integration_hub.documents.fields import FieldPolicy, doctype_field_policy, shape_document
from integration_hub.documents.permissions import has_document_permission
from integration_hub.events.subscriptions import Subscription
from integration_hub.json_text import dumps

# Changed by every save: they alone do not make an update worth sending.
VOLATILE_FIELDS = ("modified", "modified_by")
NUMERIC_TYPES = ("Int", "Check", "Float", "Currency", "Percent", "Rating")


def event_type(doctype: str, action: str) -> str:
	return f"{frappe.scrub(doctype)}.{action}"


def build_body(
	subscription: Subscription, doc, action: str, timestamp: datetime, request_id: str | None
) -> str | None:
	"""The JSON body of the event (caused by the API call `request_id`, if any), or None when `run_as`
	may not read the document, or (for updates) sees no change."""
	if not has_document_permission(doc, "read", user=subscription.run_as):
		return None
	policy = doctype_field_policy(doc.doctype, subscription.run_as, subscription.allowlist)
	obj = _stored_form(shape_document(doc, policy), policy)
	data = {"doctype": doc.doctype, "name": doc.name, "object": obj}
	if action == "updated":
		before = doc.get_doc_before_save()
		previous = {}
		if before is not None:
			obj = data["object"] = _plain(obj)
			old = _plain(_stored_form(shape_document(before, policy), policy))
			previous = {
				field: old.get(field)
				for field, value in obj.items()
				if field not in VOLATILE_FIELDS and old.get(field) != value
			}
			if not previous:
				return None
		data["previous_attributes"] = previous
	return dumps(
		{
			"type": event_type(doc.doctype, action),
			"timestamp": iso_timestamp(timestamp),
			"data": data,
			"request": {"id": request_id},
		}
	)


def test_body(subscription_name: str, timestamp: datetime, request_id: str | None) -> str:
	return dumps(
		{
			"type": "hub.test",
			"timestamp": iso_timestamp(timestamp),
			"data": {"subscription": subscription_name, "message": "Test event from integration_hub"},
			"request": {"id": request_id},
		}
	)


def iso_timestamp(moment: datetime) -> str:
	"""A UTC datetime as ISO 8601 with a `Z`."""
	return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _stored_form(shaped: dict, policy: FieldPolicy) -> dict:
	"""Unset numbers as the database stores them (0), so that an unsaved document and its saved copy
	compare alike and payloads agree with what the document API reads."""
	for fieldname, df in policy.readable.items():
		if df is not None and shaped.get(fieldname) is None and df.fieldtype in NUMERIC_TYPES:
			shaped[fieldname] = 0 if df.fieldtype in ("Int", "Check") else 0.0
	for table, child_policy in policy.tables.items():
		shaped[table] = [_stored_form(row, child_policy) for row in shaped.get(table) or []]
	return shaped


def _plain(value: dict) -> dict:
	# The JSON view of the values (dates as strings, decimals as numbers), so before/after compare alike.
	return json.loads(dumps(value))

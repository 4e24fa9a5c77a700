# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

"""Hub Event is a virtual DocType: a read-only view of the event part of each Hub Delivery.

An event belongs to exactly one subscription (its payload is shaped for that subscription's run_as
user), so event and delivery are one row of `tabHub Delivery`, written by one statement in the writer's
transaction. This DocType shows the immutable part (id, type, document, payload) on its own.
"""

import frappe
import frappe.client
from frappe import _
from frappe.model.base_document import get_controller
from frappe.model.document import Document
from frappe.model.utils import is_virtual_doctype
from frappe.utils import cint

# Hub Event field -> Hub Delivery column.
COLUMNS = {
	"name": "event",
	"subscription": "subscription",
	"event_type": "event_type",
	"occurred_at": "occurred_at",
	"reference_doctype": "reference_doctype",
	"reference_name": "reference_name",
	"payload": "payload",
	"request_id": "request_id",
	"creation": "occurred_at",
	"modified": "occurred_at",
	"owner": "owner",
	"modified_by": "owner",
}
LIST_FIELDS = [field for field in COLUMNS if field != "payload"]


class HubEvent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		event_type: DF.Data | None
		occurred_at: DF.Datetime | None
		payload: DF.Code | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		request_id: DF.Data | None
		subscription: DF.Link | None
	# end: auto-generated types

	def load_from_db(self):
		row = frappe.db.get_value(
			"Hub Delivery",
			{"event": self.name},
			[f"{column} as {field}" for field, column in COLUMNS.items()],
			as_dict=True,
		)
		if not row:
			raise frappe.DoesNotExistError(_("Hub Event {0} not found").format(self.name))
		super(Document, self).__init__({"doctype": self.doctype, **row})

	def db_insert(self, *args, **kwargs):
		frappe.throw(_("Hub Events are written by the hub when documents change"), frappe.PermissionError)

	def db_update(self, *args, **kwargs):
		frappe.throw(_("Hub Events cannot be changed"), frappe.PermissionError)

	def delete(self, *args, **kwargs):
		frappe.throw(_("Hub Events go with their Hub Delivery"), frappe.PermissionError)

	@staticmethod
	def get_list(args):
		rows = frappe.get_list(
			"Hub Delivery",
			fields=[f"{COLUMNS[field]} as {field}" for field in LIST_FIELDS],
			filters=_delivery_filters(args.get("filters")),
			order_by="name desc",
			start=cint(args.get("start")),
			page_length=cint(args.get("page_length")) or 20,
		)
		if args.get("pluck"):
			return [row[args["pluck"]] for row in rows]
		if args.get("as_list"):
			return [tuple(row[field] for field in LIST_FIELDS) for row in rows]
		return rows

	@staticmethod
	def get_count(args):
		return frappe.get_list(
			"Hub Delivery", fields=["count(name) as count"], filters=_delivery_filters(args.get("filters"))
		)[0]["count"]

	@staticmethod
	def get_stats(args):
		return {}


@frappe.whitelist(methods=["GET", "POST"])
def get_count(doctype: str, filters=None, debug: bool = False, cache: bool = False) -> int:
	"""`frappe.client.get_count` (hooked over it) that also counts virtual DocTypes, through their
	controller's get_count as the Desk's list view does; every other DocType goes to Frappe's own."""
	if not is_virtual_doctype(doctype):
		return frappe.client.get_count(doctype, filters, debug, cache)
	frappe.has_permission(doctype, "read", throw=True)
	return get_controller(doctype).get_count(frappe._dict(doctype=doctype, filters=filters))


def _delivery_filters(filters) -> list:
	"""Filters on Hub Event fields as filters on Hub Delivery columns (unknown fields are refused)."""
	if not filters:
		return []
	if isinstance(filters, str):
		filters = frappe.parse_json(filters)
	if isinstance(filters, dict):
		filters = [
			[field, "=", value] if not isinstance(value, list | tuple) else [field, *value]
			for field, value in filters.items()
		]
	mapped = []
	for condition in filters:
		condition = list(condition)
		if len(condition) == 4:  # [doctype, field, operator, value]
			condition = condition[1:]
		field = condition[0]
		if field not in COLUMNS:
			frappe.throw(_("Hub Event has no field {0}").format(field))
		mapped.append([COLUMNS[field], *condition[1:]])
	return mapped

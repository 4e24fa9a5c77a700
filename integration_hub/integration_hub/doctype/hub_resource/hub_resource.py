# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.documents.exposure import (
	BATCH_SIZE_LIMIT,
	PAGE_SIZE_LIMIT,
	clear_exposure_cache_at_transaction_end,
	parse_key_fields,
)
from integration_hub.exceptions import InvalidFieldList, InvalidLimit, NotExposable
from integration_hub.field_tables import check_field_rows, is_key_field


class HubResource(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_resource_field.hub_resource_field import (
			HubResourceField,
		)

		allow_create: DF.Check
		allow_cancel: DF.Check
		allow_delete: DF.Check
		allow_read: DF.Check
		allow_update: DF.Check
		document_type: DF.Link
		enabled: DF.Check
		fields: DF.Table[HubResourceField]
		key_fields: DF.Data | None
		max_batch_size: DF.Int
		max_page_size: DF.Int
	# end: auto-generated types

	def validate(self):
		self.validate_document_type()
		self.validate_key_fields()
		self.validate_exposed_fields()
		self.validate_limits()

	def validate_document_type(self):
		meta = frappe.get_meta(self.document_type)
		if meta.module == "Integration Hub" and not meta.custom:
			frappe.throw(
				_("{0} belongs to the integration hub itself and cannot be exposed").format(
					frappe.bold(self.document_type)
				),
				title=_("Cannot expose this DocType"),
				exc=NotExposable,
			)
		if meta.istable or meta.issingle:
			frappe.throw(
				_("{0} is a child table or a single DocType; expose its parent instead").format(
					frappe.bold(self.document_type)
				),
				title=_("Cannot expose this DocType"),
				exc=NotExposable,
			)

	def validate_key_fields(self):
		meta = frappe.get_meta(self.document_type)
		unknown = [f for f in parse_key_fields(self.key_fields) if not is_key_field(meta, f)]
		if unknown:
			frappe.throw(
				_("Key field(s) {0} do not exist on {1}").format(
					", ".join(map(frappe.bold, unknown)), self.document_type
				),
				title=_("Invalid key fields"),
				exc=InvalidFieldList,
			)
		self.key_fields = ", ".join(parse_key_fields(self.key_fields)) if self.key_fields else None

	def validate_exposed_fields(self):
		check_field_rows(self.fields, "fieldname", self.document_type, title=_("Invalid exposed field"))

	def validate_limits(self):
		for fieldname, upper in (("max_page_size", PAGE_SIZE_LIMIT), ("max_batch_size", BATCH_SIZE_LIMIT)):
			if not 1 <= (self.get(fieldname) or 0) <= upper:
				frappe.throw(
					_("{0} must be between 1 and {1}").format(self.meta.get_label(fieldname), upper),
					title=_("Invalid limit"),
					exc=InvalidLimit,
				)

	def on_change(self):
		clear_exposure_cache_at_transaction_end()

	def on_trash(self):
		clear_exposure_cache_at_transaction_end()

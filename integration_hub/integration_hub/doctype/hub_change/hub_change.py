# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from integration_hub.install import cache_name_sequence


class HubChange(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		changed_at: DF.Datetime | None
		data: DF.LongText | None
		docname: DF.Data
		name: DF.Int | None
		operation: DF.Literal["upsert", "delete"]
		ref_doctype: DF.Link
		request_id: DF.Data | None
		seq: DF.Int
	# end: auto-generated types

	pass


def on_doctype_update():
	# The change feed reads one DocType's changes in position order.
	frappe.db.add_index("Hub Change", ["ref_doctype", "seq"])
	cache_name_sequence("Hub Change")

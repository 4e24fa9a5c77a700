# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class HubSyncLink(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		connection: DF.Link
		local_doctype: DF.Link
		local_modified: DF.Datetime | None
		local_name: DF.Data | None
		remote_modified: DF.Data | None
		remote_name: DF.Data | None
	# end: auto-generated types
	pass


def on_doctype_update():
	# One link per remote record of a connection and DocType (the runner upserts on it); Push finds
	# links by the local document.
	frappe.db.add_unique(
		"Hub Sync Link", ["connection", "local_doctype", "remote_name"], "unique_remote_record"
	)
	frappe.db.add_index("Hub Sync Link", ["connection", "local_doctype", "local_name"], "local_record")

# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class HubSyncFailure(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		attempts: DF.Int
		data: DF.Code | None
		data_hash: DF.Data | None
		error: DF.LongText | None
		first_failed_at: DF.Datetime | None
		job: DF.Link
		last_failed_at: DF.Datetime | None
		record_key: DF.Data | None
		resolved_at: DF.Datetime | None
		run: DF.Link | None
		status: DF.Literal["Pending", "Resolved", "Ignored"]
	# end: auto-generated types
	pass


def on_doctype_update():
	# One failure per record of a job: a record failing again updates it.
	frappe.db.add_unique("Hub Sync Failure", ["job", "record_key"], "unique_job_record")

# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from integration_hub.events import retention


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
		subscription: DF.Link | None
	# end: auto-generated types

	@staticmethod
	def clear_old_logs(days: int = retention.DEFAULT_RETENTION_DAYS) -> None:
		"""Log Settings' retention: events older than `days` whose deliveries are gone."""
		retention.prune_events(days)


def on_doctype_update():
	frappe.db.add_index("Hub Event", ["creation"])

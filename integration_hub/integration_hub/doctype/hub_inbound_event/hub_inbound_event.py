# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from integration_hub.inbound import processing


class HubInboundEvent(Document):
	@staticmethod
	def clear_old_logs(days: int = processing.DEFAULT_RETENTION_DAYS) -> None:
		"""Log Settings' retention: events received more than `days` ago, except those still queued."""
		processing.clear_old_events(days)

# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from integration_hub.inbound import processing


class HubInboundEndpoint(Document):
	def validate(self) -> None:
		processing.validate_endpoint(self)

# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.exceptions import InvalidInboundEndpoint, InvalidSecret
from integration_hub.inbound import handlers
from integration_hub.inbound.receiving import ENDPOINT_NAME
from integration_hub.inbound.verification import SHARED_SECRET, STANDARD_WEBHOOKS
from integration_hub.mapping.checks import check_field_map
from integration_hub.webhooks.signing import secret_key


class HubInboundEndpoint(Document):
	def validate(self) -> None:
		"""A configuration that can work."""
		if not ENDPOINT_NAME.match(self.endpoint or ""):
			frappe.throw(
				_("The endpoint name may hold only letters, digits, - and _ (at most 140)"),
				exc=InvalidInboundEndpoint,
			)
		if self.verification == SHARED_SECRET and not (self.secret_header or "").strip():
			frappe.throw(_("Name the header that carries the shared secret"), exc=InvalidInboundEndpoint)
		secret = self.secret or ""
		if self.verification == STANDARD_WEBHOOKS and secret.strip(
			"*"
		):  # asterisks: the stored one, unchanged
			try:
				secret_key(secret)
			except ValueError as e:
				frappe.throw(_("Standard Webhooks needs a whsec_ secret: {0}").format(e), exc=InvalidSecret)
		if self.action == "Call Handler":
			if (self.handler or "") not in handlers.registered_handlers():
				frappe.throw(
					_("No inbound handler {0} is registered under {1}").format(
						self.handler or "", handlers.HOOK
					),
					exc=InvalidInboundEndpoint,
				)
			return
		if not self.document_type:
			frappe.throw(
				_("Choose the Document Type that events are mapped into"), exc=InvalidInboundEndpoint
			)
		check_field_map(self.field_map, self.document_type)

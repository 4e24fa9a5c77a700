# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.exceptions import InvalidInboundEndpoint, InvalidSecret
from integration_hub.inbound import handlers
from integration_hub.inbound.processing import DATA_PREFIX
from integration_hub.inbound.receiving import ENDPOINT_NAME
from integration_hub.inbound.verification import SHARED_SECRET, STANDARD_WEBHOOKS
from integration_hub.mapping.checks import check_field_map
from integration_hub.methods.arguments import method_arguments
from integration_hub.methods.catalog import resolve
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
		if self.action == "Call Method":
			self.validate_method_call()
			return
		if not self.document_type:
			frappe.throw(
				_("Choose the Document Type that events are mapped into"), exc=InvalidInboundEndpoint
			)
		check_field_map(self.field_map, self.document_type)

	def validate_method_call(self) -> None:
		"""The method is exposed and callable, and each local field of the map is one of its arguments
		or a `data.` field of the document it returns."""
		if not self.method:
			frappe.throw(_("Choose the Method that events call"), exc=InvalidInboundEndpoint)
		path, returns = frappe.db.get_value("Hub Method", self.method, ["method_path", "returns_doctype"])
		function, refusal = resolve(path)
		if function is None:
			frappe.throw(
				_("Method {0} cannot be called: {1}").format(self.method, refusal), exc=InvalidInboundEndpoint
			)
		if self.submit_returned and not returns:
			frappe.throw(
				_("Method {0} returns no new document to save and submit (set Returns a New on it)").format(
					self.method
				),
				exc=InvalidInboundEndpoint,
			)
		arguments, takes_more = method_arguments(function)
		names = {argument.name for argument in arguments}
		for row in self.field_map:
			local = (row.local_field or "").strip()
			if local.startswith(DATA_PREFIX):
				if not returns or not frappe.get_meta(returns).has_field(local[len(DATA_PREFIX) :]):
					frappe.throw(
						_("Row {0}: {1} is not a field of the document {2} returns").format(
							row.idx, local, self.method
						),
						exc=InvalidInboundEndpoint,
					)
			elif local not in names and not takes_more:
				frappe.throw(
					_("Row {0}: {1} is not an argument of {2} (its arguments: {3})").format(
						row.idx, local, self.method, ", ".join(sorted(names)) or _("none")
					),
					exc=InvalidInboundEndpoint,
				)

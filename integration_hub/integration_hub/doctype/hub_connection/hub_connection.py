# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.exceptions import InvalidBaseURL, InvalidLimit
from integration_hub.http_client import MAX_TIMEOUT
from integration_hub.sync.connections import test_connection


class HubConnection(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		api_key: DF.Data | None
		api_secret: DF.Password | None
		auth_type: DF.Literal["Token", "Bearer", "Basic", "None"]
		base_url: DF.Data
		bearer_token: DF.Password | None
		connection_name: DF.Data
		connection_type: DF.Literal["Frappe", "REST"]
		password: DF.Password | None
		remote_has_integration_hub: DF.Check
		remote_integration_hub_version: DF.Data | None
		remote_user: DF.Data | None
		remote_version: DF.Data | None
		test_message: DF.SmallText | None
		test_status: DF.Literal["", "OK", "Failed"]
		tested_at: DF.Datetime | None
		timeout_seconds: DF.Int
		username: DF.Data | None
		verify_tls: DF.Check

	# end: auto-generated types
	def validate(self):
		self.validate_base_url()
		self.validate_timeout()

	def validate_base_url(self):
		self.base_url = (self.base_url or "").strip().rstrip("/")
		parts = urlsplit(self.base_url)
		if parts.scheme not in ("http", "https") or not parts.hostname:
			frappe.throw(
				_(
					"Base URL must start with http:// or https:// and name a host, e.g. https://erp.example.com"
				),
				title=_("Invalid base URL"),
				exc=InvalidBaseURL,
			)
		if parts.query or parts.fragment:
			frappe.throw(
				_("Base URL cannot carry a query or a fragment"),
				title=_("Invalid base URL"),
				exc=InvalidBaseURL,
			)

	def validate_timeout(self):
		if not 1 <= (self.timeout_seconds or 0) <= MAX_TIMEOUT:
			frappe.throw(
				_("Timeout must be between 1 and {0} seconds").format(MAX_TIMEOUT),
				title=_("Invalid timeout"),
				exc=InvalidLimit,
			)

	def on_trash(self):
		# What was last synced with a remote that is no longer configured means nothing any more.
		frappe.db.delete("Hub Sync Link", {"connection": self.name})

	@frappe.whitelist()
	def test_connection(self) -> dict:
		"""Call the remote with these settings and report what answered (the Test Connection button)."""
		self.check_permission("write")
		return test_connection(self)

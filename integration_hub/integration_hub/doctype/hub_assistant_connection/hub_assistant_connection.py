# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class HubAssistantConnection(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_api_key_method.hub_api_key_method import (
			HubAPIKeyMethod,
		)
		from integration_hub.integration_hub.doctype.hub_api_key_report.hub_api_key_report import (
			HubAPIKeyReport,
		)
		from integration_hub.integration_hub.doctype.hub_api_key_scope.hub_api_key_scope import HubAPIKeyScope

		client: DF.Link
		client_name: DF.Data | None
		connected_on: DF.Datetime | None
		last_used_at: DF.Datetime | None
		last_used_ip: DF.Data | None
		methods: DF.Table[HubAPIKeyMethod]
		reports: DF.Table[HubAPIKeyReport]
		resource: DF.Data | None
		revoked_by: DF.Link | None
		revoked_on: DF.Datetime | None
		scope: DF.Data | None
		scopes: DF.Table[HubAPIKeyScope]
		status: DF.Literal["Active", "Revoked"]
		user: DF.Link
	# end: auto-generated types

	def validate(self):
		"""Written only by the authorization server (security/oauth/consent.py), which records what the
		user consented to: a save from the Desk or the REST API, even a manager's, would change a
		consent nobody gave. People revoke (api/oauth.revoke_connection) or sign the assistant in again."""
		frappe.throw(
			_("A connection changes only when its person signs the assistant in again, or is revoked"),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)

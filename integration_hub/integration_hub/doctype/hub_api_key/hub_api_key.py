# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.exceptions import DuplicateScope
from integration_hub.integration_hub.desk import show_secret_once
from integration_hub.security.api_keys import new_secret


class HubAPIKey(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_api_key_scope.hub_api_key_scope import HubAPIKeyScope

		enabled: DF.Check
		expires_on: DF.Datetime | None
		key_name: DF.Data
		last_used_at: DF.Datetime | None
		last_used_ip: DF.Data | None
		prefix: DF.Data | None
		rate_limit_per_minute: DF.Int
		scopes: DF.Table[HubAPIKeyScope]
		secret_hash: DF.Data | None
		user: DF.Link
	# end: auto-generated types

	def before_insert(self):
		self.prefix, self.flags.plain_token, self.flags.secret_hash = new_secret()

	def validate(self):
		self.validate_scopes()

	def validate_scopes(self):
		seen = set()
		for row in self.scopes:
			if row.resource in seen:
				frappe.throw(
					_("Row {0}: {1} has more than one scope row").format(row.idx, frappe.bold(row.resource)),
					exc=DuplicateScope,
				)
			seen.add(row.resource)

	def after_insert(self):
		# Written after the insert: the hash is a permission level 1 field, which an insert by anyone but
		# Administrator would reset (nobody may write that level: only the key itself sets it).
		self.db_set("secret_hash", self.flags.secret_hash, update_modified=False)
		self.show_token_once()

	@frappe.whitelist(methods=["POST"])
	def rotate_secret(self) -> str:
		"""A new secret for the same key (prefix, scopes and history stay); the old one stops working now."""
		self.check_permission("write")
		_prefix, self.flags.plain_token, secret_hash = new_secret(self.prefix)
		self.db_set("secret_hash", secret_hash)
		self.show_token_once()
		return self.flags.plain_token

	def show_token_once(self):
		show_secret_once(
			self.flags.plain_token,
			title=_("API key for {0}").format(self.key_name),
			how_to_use=_("Send it as <code>Authorization: Bearer &lt;key&gt;</code>."),
		)

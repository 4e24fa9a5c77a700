# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint


class HubAssistantSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.core.doctype.has_role.has_role import HasRole
		from frappe.types import DF

		access_token_minutes: DF.Int
		allow_dynamic_registration: DF.Check
		allow_metadata_documents: DF.Check
		allowed_roles: DF.TableMultiSelect[HasRole]
		refresh_token_days: DF.Int
	# end: auto-generated types

	def validate(self):
		if not 5 <= cint(self.access_token_minutes) <= 1440:
			frappe.throw(
				_("Access Token Lifetime must be between 5 and 1440 minutes (a day)"),
				title=_("Invalid Token Lifetime"),
			)
		if not 1 <= cint(self.refresh_token_days) <= 365:
			frappe.throw(
				_("Refresh Token Lifetime must be between 1 and 365 days"),
				title=_("Invalid Token Lifetime"),
			)

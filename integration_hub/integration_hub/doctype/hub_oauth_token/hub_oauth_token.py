# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class HubOAuthToken(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		client: DF.Link | None
		code_challenge: DF.Data | None
		connection: DF.Link | None
		expires_at: DF.Datetime | None
		kind: DF.Literal["Authorization Code", "Access Token", "Refresh Token"]
		parent_token: DF.Data | None
		redirect_uri: DF.SmallText | None
		resource: DF.Data | None
		revoked: DF.Check
		scope: DF.Data | None
		token_hash: DF.Data | None
		used: DF.Check
		user: DF.Link | None
	# end: auto-generated types

	pass

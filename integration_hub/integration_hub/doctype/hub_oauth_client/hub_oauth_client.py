# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class HubOAuthClient(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		client_id: DF.Data | None
		client_name: DF.Data | None
		client_secret_hash: DF.Data | None
		client_uri: DF.Data | None
		enabled: DF.Check
		fetched_at: DF.Datetime | None
		logo_uri: DF.Data | None
		metadata: DF.Code | None
		redirect_uris: DF.SmallText | None
		registered_from_ip: DF.Data | None
		registration: DF.Literal["Dynamic Registration", "Metadata Document"]
		software_id: DF.Data | None
		software_version: DF.Data | None
		token_endpoint_auth_method: DF.Literal["none", "client_secret_post"]
	# end: auto-generated types

	pass

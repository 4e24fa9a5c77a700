# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class HubLock(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		data: DF.LongText | None
		reference_doctype: DF.Data | None
		reference_name: DF.Data | None
		version: DF.Int
	# end: auto-generated types

	pass

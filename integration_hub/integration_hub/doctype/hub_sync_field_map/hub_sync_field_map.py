from frappe.model.document import Document


class HubSyncFieldMap(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		is_key: DF.Check
		local_field: DF.Data
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		remote_field: DF.Data | None
		transform: DF.Literal[
			"",
			"str",
			"int",
			"float",
			"bool",
			"date",
			"datetime",
			"lower",
			"upper",
			"strip",
			"constant",
			"lookup",
		]
		transform_argument: DF.Data | None
	# end: auto-generated types
	pass

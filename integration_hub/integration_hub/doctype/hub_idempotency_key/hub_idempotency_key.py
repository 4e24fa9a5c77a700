from frappe.model.document import Document


class HubIdempotencyKey(Document):
	pass

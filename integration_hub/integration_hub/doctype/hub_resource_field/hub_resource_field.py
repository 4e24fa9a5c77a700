from frappe.model.document import Document


class HubResourceField(Document):
	pass

from frappe.model.document import Document


class HubAPIKeyScope(Document):
	pass

from frappe.model.document import Document


class HubAPIKeyMethod(Document):
	pass

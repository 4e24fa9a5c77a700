from frappe.model.document import Document


class HubAPIKeyReport(Document):
	pass

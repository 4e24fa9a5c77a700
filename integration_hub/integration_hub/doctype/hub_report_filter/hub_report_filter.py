from frappe.model.document import Document


class HubReportFilter(Document):
	pass

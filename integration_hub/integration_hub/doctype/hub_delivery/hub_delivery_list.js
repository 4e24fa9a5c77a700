// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.listview_settings["Hub Delivery"] = {
	add_fields: ["status", "last_status_code"],
	get_indicator(doc) {
		const colors = { Pending: "blue", Failed: "orange", Succeeded: "green", Dead: "red" };
		return [__(doc.status), colors[doc.status] || "gray", `status,=,${doc.status}`];
	},
};

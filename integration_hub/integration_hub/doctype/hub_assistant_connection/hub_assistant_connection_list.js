// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.listview_settings["Hub Assistant Connection"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const colors = { Active: "green", Revoked: "gray" };
		return [__(doc.status), colors[doc.status] || "gray", `status,=,${doc.status}`];
	},
};

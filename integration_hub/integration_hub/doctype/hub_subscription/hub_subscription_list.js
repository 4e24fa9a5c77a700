// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

// One indicator for the two switches: Off (the administrator's), Disabled (the hub's), else health.
frappe.listview_settings["Hub Subscription"] = {
	add_fields: ["enabled", "status", "failing_since"],
	get_indicator(doc) {
		if (!doc.enabled) return [__("Off"), "gray", "enabled,=,0"];
		if (doc.status === "Disabled")
			return [__("Disabled by the hub"), "red", "status,=,Disabled"];
		if (doc.failing_since) return [__("Failing"), "orange", "failing_since,is,set"];
		return [__("Active"), "green", "enabled,=,1|status,=,Active"];
	},
};

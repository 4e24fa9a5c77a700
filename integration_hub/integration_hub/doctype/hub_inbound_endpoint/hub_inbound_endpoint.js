// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub Inbound Endpoint", {
	refresh(frm) {
		if (frm.is_new()) return;
		const url = `${window.location.origin}/api/method/integration_hub.api.v1.receive?endpoint=${encodeURIComponent(frm.doc.endpoint)}`;
		frm.dashboard.clear_headline(); // refresh runs twice after the first save: one banner, not two
		frm.set_intro(__("Senders post to {0}", [`<code>${frappe.utils.escape_html(url)}</code>`]), "blue");
		frm.add_custom_button(__("Events"), () =>
			frappe.set_route("List", "Hub Inbound Event", { endpoint: frm.doc.name })
		);
	},
});

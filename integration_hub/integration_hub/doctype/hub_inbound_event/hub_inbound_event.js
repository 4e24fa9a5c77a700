// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

{% include "integration_hub/public/js/hub_desk.js" %}

frappe.ui.form.on("Hub Inbound Event", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Reprocess"), () => {
			frappe
				.call({ method: "integration_hub.api.v1.reprocess", args: { event: frm.doc.name } })
				.then(() => {
					frappe.show_alert({ message: __("Queued for processing"), indicator: "green" });
					frm.reload_doc();
				});
		});
		// What processing it wrote carries its request id (inbound/processing.py).
		integration_hub.desk.add_caused_buttons(frm, `inbound-event:${frm.doc.name}`);
	},
});

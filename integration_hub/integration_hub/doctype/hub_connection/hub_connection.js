// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub Connection", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Test Connection"), () => {
			frm.call({ doc: frm.doc, method: "test_connection", freeze: true }).then((r) => {
				const result = r.message || {};
				frappe.msgprint({
					title: result.test_status === "OK" ? __("Connected") : __("Connection failed"),
					message: result.test_message,
					indicator: result.test_status === "OK" ? "green" : "red",
				});
				frm.reload_doc();
			});
		});
		frm.add_custom_button(__("Sync Jobs"), () =>
			frappe.set_route("List", "Hub Sync Job", { connection: frm.doc.name })
		);
	},
});

// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

const SYNC_API = "integration_hub.api.v1";

frappe.ui.form.on("Hub Sync Job", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Run Now"), () => {
			frappe.call({ method: `${SYNC_API}.run_now`, args: { job: frm.doc.name } }).then((r) => {
				const answer = r.message || {};
				frappe.show_alert({
					message: answer.queued ? __("Run queued") : __("A run is already queued or running"),
					indicator: answer.queued ? "green" : "orange",
				});
			});
		});
		frm.add_custom_button(__("Reset Cursor"), () => {
			frappe.confirm(
				__("The next run will read everything from the start again (records that did not change cost no write). Continue?"),
				() =>
					frappe
						.call({ method: `${SYNC_API}.reset_cursor`, args: { job: frm.doc.name } })
						.then(() => frm.reload_doc())
			);
		});
		frm.add_custom_button(__("Runs"), () => frappe.set_route("List", "Hub Sync Run", { job: frm.doc.name }));
		frm.add_custom_button(__("Failures"), () =>
			frappe.set_route("List", "Hub Sync Failure", { job: frm.doc.name, status: "Pending" })
		);
		frappe.realtime.off("integration_hub_sync_finished");
		frappe.realtime.on("integration_hub_sync_finished", (data) => {
			if (data.job === frm.doc.name) {
				frappe.hide_progress();
				frm.reload_doc();
			}
		});
	},
});

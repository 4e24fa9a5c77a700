// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub Sync Job", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.dashboard.clear_headline(); // refresh runs twice after the first save: one headline, not two
		frm.add_custom_button(__("Run Now"), () => {
			frm.call({ doc: frm.doc, method: "run_now" }).then((r) => {
				const answer = r.message || {};
				frappe.show_alert({
					message: answer.queued
						? __("Run queued: it appears under Runs when a worker starts it")
						: __("A run is already queued or running"),
					indicator: answer.queued ? "green" : "orange",
				});
			});
		});
		frm.add_custom_button(
			__("Reset Cursor"),
			() => {
				frappe.confirm(
					__(
						"The next run will read everything from the start again (records that did not change cost no write). Continue?"
					),
					() =>
						frm.call({ doc: frm.doc, method: "reset_cursor" }).then(() => {
							frappe.show_alert({
								message: __("Cursor reset: the next run reads everything again"),
								indicator: "green",
							});
							frm.reload_doc();
						})
				);
			},
			__("Actions")
		);
		frm.add_custom_button(__("Runs"), () =>
			frappe.set_route("List", "Hub Sync Run", { job: frm.doc.name })
		);
		frm.add_custom_button(__("Failures"), () =>
			frappe.set_route("List", "Hub Sync Failure", { job: frm.doc.name, status: "Pending" })
		);
		if (frm.doc.last_run_status) {
			const colors = {
				Running: "blue",
				Succeeded: "green",
				Partial: "orange",
				Failed: "red",
			};
			frm.dashboard.set_headline(
				__("Last run: {0} at {1}", [
					`<a href="/app/hub-sync-run/${encodeURIComponent(frm.doc.last_run)}">${__(
						frm.doc.last_run_status
					)}</a>`,
					frappe.datetime.str_to_user(frm.doc.last_run_at),
				]),
				colors[frm.doc.last_run_status]
			);
		}
		frappe.realtime.off("integration_hub_sync_finished");
		frappe.realtime.on("integration_hub_sync_finished", (data) => {
			if (data.job === frm.doc.name) {
				frappe.hide_progress();
				frm.reload_doc();
			}
		});
	},
});

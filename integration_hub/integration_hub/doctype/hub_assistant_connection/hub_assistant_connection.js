// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub Assistant Connection", {
	refresh(frm) {
		if (frm.is_new() || frm.doc.status !== "Active") return;
		frm.add_custom_button(__("Revoke"), () => {
			frappe.confirm(
				__(
					"Revoke {0}'s access on behalf of {1}? Its tokens are refused from the next request.",
					[
						frappe.utils.escape_html(frm.doc.client_name || frm.doc.client),
						frappe.utils.escape_html(frm.doc.user),
					]
				),
				() =>
					frappe.call({
						method: "integration_hub.api.oauth.revoke_connection",
						args: { connection: frm.doc.name },
						freeze: true,
						callback: () => frm.reload_doc(),
					})
			);
		});
	},
});

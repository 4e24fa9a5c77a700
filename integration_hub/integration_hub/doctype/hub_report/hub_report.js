// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub Report", {
	refresh(frm) {
		if (!frm.doc.report) return;
		// The filters are read from the report's own script when the Hub Report is first saved; this
		// reads them again (after an upgrade of the app that ships the report), replacing the rows.
		frm.add_custom_button(
			__("Read Filters"),
			() =>
				frm
					.call({ doc: frm.doc, method: "read_filters", freeze: true })
					.then(() => frm.refresh_field("filters")),
			__("Actions")
		);
	},
});

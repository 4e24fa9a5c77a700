// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Hub API Key", {
	refresh(frm) {
		if (frm.is_new()) return;
		// The prefix names the document, so Frappe hides it; it is what identifies the key in logs.
		frm.toggle_display("prefix", true);
		frm.add_custom_button(
			__("Rotate Secret"),
			() => {
				frappe.confirm(
					__(
						"Replace the secret of {0}? The current token stops working at once; the new one is shown once.",
						[frappe.utils.escape_html(frm.doc.key_name)]
					),
					() =>
						frm
							.call({ doc: frm.doc, method: "rotate_secret", freeze: true })
							.then(() => frm.reload_doc())
				);
			},
			__("Actions")
		);
	},
});

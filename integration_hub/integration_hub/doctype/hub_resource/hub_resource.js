// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

{% include "integration_hub/public/js/hub_desk.js" %}

integration_hub.desk.setup_field_picker(
	"Hub Resource",
	"fields",
	"Hub Resource Field",
	"document_type"
);

frappe.ui.form.on("Hub Resource", {
	refresh(frm) {
		// The DocType names the document, so Frappe hides it once saved; it is what this record is about.
		frm.toggle_display("document_type", true);
	},

	key_fields(frm) {
		integration_hub.desk.check_fieldnames(
			frm.doc.document_type,
			(frm.doc.key_fields || "").split(",")
		);
	},
});

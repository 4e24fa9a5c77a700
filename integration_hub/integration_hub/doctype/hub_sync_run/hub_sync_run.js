// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

{% include "integration_hub/public/js/hub_desk.js" %}

frappe.ui.form.on("Hub Sync Run", {
	refresh(frm) {
		if (frm.is_new()) return;
		// What the run wrote here carries its request id (sync/run.py); so do its calls to the remote.
		integration_hub.desk.add_caused_buttons(frm, `sync-run:${frm.doc.name}`);
	},
});

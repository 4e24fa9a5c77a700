// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

{% include "integration_hub/public/js/hub_desk.js" %}

frappe.ui.form.on("Hub Delivery", {
	refresh(frm) {
		// No status at all (0 on the attempts) is stored when no HTTP answer came: say so.
		const no_answer = (value, df, options, doc) =>
			!cint(value) && (doc?.last_attempt_at || doc?.attempted_at)
				? `<span class="text-danger">${__("No answer")}</span>`
				: frappe.form.formatters.Int(value, df, options, doc);
		frm.set_df_property("last_status_code", "formatter", no_answer);
		frm.fields_dict.attempts.grid.update_docfield_property(
			"status_code",
			"formatter",
			no_answer
		);
		frm.refresh_field("attempts");
		frm.add_custom_button(__("Redeliver"), () =>
			frm
				.call({
					doc: frm.doc,
					method: "redeliver",
					freeze: true,
					freeze_message: __("Sending…"),
				})
				.then((r) => {
					integration_hub.desk.show_delivery_outcome(__("Redelivery"), r.message);
					frm.reload_doc();
				})
		);
		frm.add_custom_button(__("Subscription"), () =>
			frappe.set_route("Form", "Hub Subscription", frm.doc.subscription)
		);
	},
});

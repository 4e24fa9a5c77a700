// Copyright (c) 2026, integration_hub contributors and contributors
// For license information, please see license.txt

{% include "integration_hub/public/js/hub_desk.js" %}

integration_hub.desk.setup_field_picker(
	"Hub Subscription",
	"fields",
	"Hub Subscription Field",
	"document_type"
);

frappe.ui.form.on("Hub Subscription", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.dashboard.clear_headline(); // refresh runs twice after the first save: one headline, not two
		const actions = __("Actions");
		frm.add_custom_button(
			__("Send Test Event"),
			() => subscription_send_test_event(frm),
			actions
		);
		frm.add_custom_button(__("Rotate Secret"), () => subscription_rotate_secret(frm), actions);
		frm.add_custom_button(__("Recover"), () => subscription_recover(frm), actions);
		frm.add_custom_button(__("Deliveries"), () =>
			frappe.set_route("List", "Hub Delivery", { subscription: frm.doc.name })
		);
		if (frm.doc.status === "Disabled") {
			frm.dashboard.set_headline(
				__("The hub disabled this subscription: {0}", [
					frappe.utils.escape_html(frm.doc.disabled_reason || ""),
				]),
				"red"
			);
			frm.add_custom_button(__("Resume Deliveries"), () => {
				frm.set_value("status", "Active");
				frm.save();
			});
		}
	},
});

function subscription_send_test_event(frm) {
	frm.call({
		doc: frm.doc,
		method: "send_test_event",
		freeze: true,
		freeze_message: __("Sending…"),
	}).then((r) => {
		integration_hub.desk.show_delivery_outcome(__("Test event"), r.message);
		frm.reload_doc();
	});
}

function subscription_rotate_secret(frm) {
	frappe.confirm(
		__(
			"Replace the signing secret of {0}? Deliveries are signed with both secrets for 24 hours; set the new one on the receiver before then.",
			[frappe.utils.escape_html(frm.doc.name)]
		),
		() =>
			frm
				.call({ doc: frm.doc, method: "rotate_secret", freeze: true })
				.then(() => frm.reload_doc())
	);
}

function subscription_recover(frm) {
	frappe.prompt(
		{
			fieldname: "since",
			fieldtype: "Datetime",
			label: __("Failed or dead since"),
			reqd: 1,
			default: frappe.datetime.add_days(frappe.datetime.now_datetime(), -1),
			description: __(
				"Every failed and dead delivery of this subscription created since then is sent again, in event order, in the background."
			),
		},
		(values) =>
			frm
				.call({
					doc: frm.doc,
					method: "recover",
					args: { since: values.since },
					freeze: true,
				})
				.then((r) =>
					frappe.msgprint({
						title: __("Recovery queued"),
						indicator: "green",
						message: __("{0} deliveries will be sent again.", [r.message.deliveries]),
					})
				),
		__("Recover deliveries"),
		__("Recover")
	);
}

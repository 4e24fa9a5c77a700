// What several Hub form scripts share; each pulls this file in with an include directive (no build needed).

frappe.provide("integration_hub.desk");

// The fields a table of fieldnames may list: those holding a value, child tables too, and `name`.
integration_hub.desk.STANDARD_FIELDS = ["name", "owner", "creation", "modified", "modified_by"];

integration_hub.desk.value_fields = function (doctype) {
	return frappe.model.with_doctype(doctype).then(() => {
		const fields = frappe
			.get_meta(doctype)
			.fields.filter(
				(df) =>
					!frappe.model.no_value_type.includes(df.fieldtype) ||
					frappe.model.table_fields.includes(df.fieldtype)
			)
			.map((df) => ({ fieldname: df.fieldname, label: __(df.label || df.fieldname) }));
		const standard = integration_hub.desk.STANDARD_FIELDS.map((fieldname) => ({
			fieldname,
			label: __(frappe.model.unscrub(fieldname)),
		}));
		return standard.concat(fields);
	});
};

// Warn as soon as a typed fieldname is not a field of the DocType (saving refuses it too).
integration_hub.desk.check_fieldnames = function (doctype, fieldnames) {
	const typed = fieldnames.map((f) => (f || "").trim()).filter(Boolean);
	if (!doctype || !typed.length) return Promise.resolve([]);
	return integration_hub.desk.value_fields(doctype).then((fields) => {
		const known = new Set(fields.map((f) => f.fieldname));
		const unknown = typed.filter((f) => !known.has(f));
		if (unknown.length) {
			frappe.show_alert(
				{
					message: __("{0} is not a field of {1}", [
						unknown.map(frappe.utils.escape_html).join(", "),
						__(doctype),
					]),
					indicator: "red",
				},
				7
			);
		}
		return unknown;
	});
};

// A "Pick Fields" button under a table of fieldnames: tick the DocType's fields in a dialog instead
// of typing them; typed names are checked as they change.
integration_hub.desk.setup_field_picker = function (
	doctype,
	table_field,
	child_doctype,
	doctype_field
) {
	frappe.ui.form.on(child_doctype, {
		fieldname(frm, cdt, cdn) {
			integration_hub.desk.check_fieldnames(frm.doc[doctype_field], [
				locals[cdt][cdn].fieldname,
			]);
		},
	});
	frappe.ui.form.on(doctype, {
		refresh(frm) {
			frm.get_field(table_field).grid.add_custom_button(__("Pick Fields"), () =>
				integration_hub.desk.pick_fields(frm, table_field, doctype_field)
			);
		},
	});
};

integration_hub.desk.pick_fields = function (frm, table_field, doctype_field) {
	const doctype = frm.doc[doctype_field];
	if (!doctype) {
		frappe.msgprint(__("Choose the {0} first", [__(frm.get_field(doctype_field).df.label)]));
		return;
	}
	integration_hub.desk.value_fields(doctype).then((fields) => {
		const chosen = new Set((frm.doc[table_field] || []).map((row) => row.fieldname));
		const dialog = new frappe.ui.Dialog({
			title: __("Fields of {0}", [__(doctype)]),
			size: "large",
			fields: [
				{
					fieldname: "fields",
					fieldtype: "MultiCheck",
					columns: 3,
					options: fields.map((f) => ({
						label: `${f.label} <span class="text-muted">(${f.fieldname})</span>`,
						value: f.fieldname,
						checked: chosen.has(f.fieldname),
					})),
				},
			],
			primary_action_label: __("Use these fields"),
			primary_action(values) {
				frm.clear_table(table_field);
				for (const fieldname of values.fields || []) {
					frm.add_child(table_field, { fieldname });
				}
				frm.refresh_field(table_field);
				frm.dirty();
				dialog.hide();
			},
		});
		dialog.show();
	});
};

// The outcome of one delivery attempt made now (Send Test Event, Redeliver).
integration_hub.desk.show_delivery_outcome = function (title, result) {
	const answer = result.status_code
		? __("HTTP {0}", [result.status_code])
		: __("no HTTP answer (connection refused, timed out or not allowed)");
	const rows = [
		[__("Delivery"), `<a href="/app/hub-delivery/${result.delivery}">${result.delivery}</a>`],
		[__("Status"), __(result.status)],
		[__("Receiver answered"), answer],
		[__("Duration"), __("{0} ms", [result.duration_ms ?? "–"])],
		[
			__("Response or error"),
			`<code>${frappe.utils.escape_html(result.response || "")}</code>`,
		],
	];
	frappe.msgprint({
		title: `${title}: ${result.success ? __("delivered") : __("not delivered")}`,
		indicator: result.success ? "green" : "red",
		message: `<table class="table table-bordered hub-delivery-outcome">${rows
			.map(([label, value]) => `<tr><th>${label}</th><td>${value}</td></tr>`)
			.join("")}</table>`,
	});
};

// "What It Caused": the Hub Changes and Hub Events that carry a request id (integration_hub/request_id.py),
// e.g. `sync-run:<name>` on a Hub Sync Run, `inbound-event:<name>` on a Hub Inbound Event.
integration_hub.desk.add_caused_buttons = function (frm, request_id) {
	const group = __("What It Caused");
	frm.add_custom_button(
		__("Changes"),
		() => frappe.set_route("List", "Hub Change", { request_id }),
		group
	);
	frm.add_custom_button(
		__("Events"),
		() => frappe.set_route("List", "Hub Event", { request_id }),
		group
	);
};

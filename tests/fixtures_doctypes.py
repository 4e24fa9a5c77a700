"""DocTypes made for the tests, once per session (their DDL commits implicitly in MariaDB).

`Hub Test Item` has what the permission tests need: a natural key (`code`), a Link that User
Permissions can restrict (`category`), a field at permlevel 1 (`cost`), a Select, a child table and
role permissions for a plain role and for an auditor who may read permlevel 1.
"""

import frappe

ITEM = "Hub Test Item"
ITEM_ROW = "Hub Test Item Row"
CATEGORY = "Hub Test Category"
# Linked documents for expand: an order (named by a naming series) links a customer, its lines link
# items; a customer links its preferred item and has a field at permlevel 1.
CUSTOMER = "Hub Test Customer"
ORDER = "Hub Test Order"
ORDER_LINE = "Hub Test Order Line"
# Submittable, named by a series, with a field that may change after submission (a carrier's tracking).
INVOICE = "Hub Test Invoice"
EDITOR_ROLE = "Hub Test Editor"
READER_ROLE = "Hub Test Reader"
AUDITOR_ROLE = "Hub Test Auditor"
OWNER_EDITOR_ROLE = "Hub Test Owner Editor"  # reads and writes only the items it owns
# One DocType per naming rule that keys of `name` treat differently (documents/naming.py).
NAMED_BY_RULE = {
	"prompt": "Hub Test Prompt Named",
	"autoincrement": "Hub Test Numbered",
	"series": "Hub Test Series Named",
	"format": "Hub Test Format Named",
}


# Editors write permlevel 0, readers read it, auditors (and System Managers) read permlevel 1 too;
# owner editors read and write only their own (an `if_owner` rule).
LEVELLED_PERMISSIONS = [
	{"role": "System Manager", "permlevel": 0, "read": 1, "write": 1, "create": 1, "delete": 1},
	{"role": "System Manager", "permlevel": 1, "read": 1, "write": 1},
	{"role": EDITOR_ROLE, "permlevel": 0, "read": 1, "write": 1, "create": 1, "delete": 1},
	{"role": READER_ROLE, "permlevel": 0, "read": 1},
	{"role": AUDITOR_ROLE, "permlevel": 0, "read": 1},
	{"role": AUDITOR_ROLE, "permlevel": 1, "read": 1},
	{"role": OWNER_EDITOR_ROLE, "permlevel": 0, "read": 1, "write": 1, "create": 1, "if_owner": 1},
]


def expose_fully(doctype: str) -> None:
	"""Expose every field and operation of a DocType keyed by `code`, with the largest pages and
	batches (the remote site of the sync tests, the benchmarks)."""
	values = {
		"enabled": 1,
		"allow_read": 1,
		"allow_create": 1,
		"allow_update": 1,
		"allow_delete": 1,
		"key_fields": "code",
		"max_page_size": 1000,
		"max_batch_size": 1000,
		"fields": [],  # no allowlist: every field
	}
	if frappe.db.exists("Hub Resource", doctype):
		frappe.get_doc("Hub Resource", doctype).update(values).save()
	else:
		frappe.get_doc({"doctype": "Hub Resource", "document_type": doctype, **values}).insert()


def create_test_doctypes() -> None:
	for role in (EDITOR_ROLE, READER_ROLE, AUDITOR_ROLE, OWNER_EDITOR_ROLE):
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert()
	for doctype in (INVOICE, ORDER, ORDER_LINE, CUSTOMER, ITEM, ITEM_ROW, CATEGORY, *NAMED_BY_RULE.values()):
		if frappe.db.exists("DocType", doctype):
			frappe.delete_doc("DocType", doctype, force=True)
	_doctype(
		CATEGORY,
		[{"fieldname": "category_name", "fieldtype": "Data", "reqd": 1}],
		autoname="field:category_name",
	)
	_doctype(
		ITEM_ROW,
		[
			{"fieldname": "item_code", "fieldtype": "Data", "label": "Item Code", "in_list_view": 1},
			{"fieldname": "qty", "fieldtype": "Int", "label": "Qty", "in_list_view": 1},
		],
		istable=1,
	)
	_doctype(
		ITEM,
		[
			{"fieldname": "code", "fieldtype": "Data", "label": "Code", "reqd": 1, "unique": 1},
			{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
			{"fieldname": "qty", "fieldtype": "Int", "label": "Quantity"},
			{
				"fieldname": "status",
				"fieldtype": "Select",
				"label": "Status",
				"options": "Draft\nActive\nRetired",
				"default": "Draft",
			},
			{"fieldname": "category", "fieldtype": "Link", "label": "Category", "options": CATEGORY},
			{"fieldname": "notes", "fieldtype": "Small Text", "label": "Notes"},
			{"fieldname": "computed", "fieldtype": "Data", "label": "Computed", "read_only": 1},
			{"fieldname": "rows", "fieldtype": "Table", "label": "Rows", "options": ITEM_ROW},
			{"fieldname": "cost", "fieldtype": "Currency", "label": "Cost", "permlevel": 1},
		],
		autoname="hash",
		permissions=LEVELLED_PERMISSIONS,
	)
	_named_by_rule_doctypes()
	_linked_doctypes()
	_submittable_doctype()
	frappe.db.commit()


def _submittable_doctype() -> None:
	"""Editors may submit, cancel and amend; readers only read; owner editors write but never submit."""
	every_transition = {"submit": 1, "cancel": 1, "amend": 1}
	_doctype(
		INVOICE,
		[
			# Not unique: a cancelled invoice and its amendment share it.
			{"fieldname": "customer_name", "fieldtype": "Data", "label": "Customer Name"},
			{"fieldname": "amount", "fieldtype": "Currency", "label": "Amount"},
			{"fieldname": "tracking", "fieldtype": "Data", "label": "Tracking", "allow_on_submit": 1},
			{"fieldname": "rows", "fieldtype": "Table", "label": "Rows", "options": ITEM_ROW},
			{
				"fieldname": "amended_from",
				"fieldtype": "Link",
				"label": "Amended From",
				"options": INVOICE,
				"read_only": 1,
				"no_copy": 1,
			},
		],
		autoname="HTI-.#####",
		is_submittable=1,
		permissions=[
			{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1, **every_transition},
			{"role": EDITOR_ROLE, "read": 1, "write": 1, "create": 1, "delete": 1, **every_transition},
			{"role": READER_ROLE, "read": 1},
			{"role": OWNER_EDITOR_ROLE, "read": 1, "write": 1, "create": 1},
		],
	)


def _linked_doctypes() -> None:
	readers = LEVELLED_PERMISSIONS
	_doctype(
		CUSTOMER,
		[
			{"fieldname": "customer_name", "fieldtype": "Data", "label": "Customer Name", "unique": 1},
			{"fieldname": "preferred_item", "fieldtype": "Link", "label": "Preferred Item", "options": ITEM},
			{"fieldname": "credit_limit", "fieldtype": "Currency", "label": "Credit Limit", "permlevel": 1},
		],
		autoname="hash",
		permissions=readers,
	)
	_doctype(
		ORDER_LINE,
		[
			{"fieldname": "item", "fieldtype": "Link", "label": "Item", "options": ITEM, "in_list_view": 1},
			{"fieldname": "qty", "fieldtype": "Int", "label": "Qty", "in_list_view": 1},
		],
		istable=1,
	)
	_doctype(
		ORDER,
		[
			{"fieldname": "customer", "fieldtype": "Link", "label": "Customer", "options": CUSTOMER},
			{"fieldname": "remarks", "fieldtype": "Data", "label": "Remarks"},
			{"fieldname": "lines", "fieldtype": "Table", "label": "Lines", "options": ORDER_LINE},
		],
		autoname="HTO-.#####",
		permissions=readers[:1] + readers[2:],
	)


def _named_by_rule_doctypes() -> None:
	editable = [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}]
	title = [{"fieldname": "title", "fieldtype": "Data", "label": "Title"}]
	_doctype(NAMED_BY_RULE["prompt"], title, autoname="prompt", permissions=editable)
	_doctype(NAMED_BY_RULE["autoincrement"], title, autoname="autoincrement", permissions=editable)
	_doctype(NAMED_BY_RULE["series"], title, autoname="HTS-.####", permissions=editable)
	_doctype(NAMED_BY_RULE["format"], title, autoname="format:HTF-{title}", permissions=editable)


def _doctype(name: str, fields: list[dict], *, permissions: list[dict] | None = None, **props) -> None:
	if permissions is None and not props.get("istable"):
		permissions = [
			{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
			*({"role": role, "read": 1} for role in (EDITOR_ROLE, READER_ROLE, AUDITOR_ROLE)),
		]
	# DocPerm defaults to write, create and delete: say every right explicitly.
	permissions = [{"write": 0, "create": 0, "delete": 0, **p} for p in permissions or []]
	frappe.get_doc(
		{
			"doctype": "DocType",
			"name": name,
			"module": "Integration Hub",
			"custom": 1,
			"fields": fields,
			"permissions": permissions,
			**props,
		}
	).insert()

"""Install and migrate hooks: what the app needs on a site besides its DocTypes."""

import frappe

INTEGRATION_MANAGER = "Integration Manager"


def ensure_roles() -> None:
	if not frappe.db.exists("Role", INTEGRATION_MANAGER):
		frappe.get_doc(
			{"doctype": "Role", "role_name": INTEGRATION_MANAGER, "desk_access": 1, "is_custom": 0}
		).insert(ignore_permissions=True)

"""The test site's setup, completed as an administrator completes it: Frappe's setup wizard, through its
own `setup_complete`. With ERPNext installed the same answers make its company (currency, fiscal year,
chart of accounts), as ERPNext's own `before_tests` does.

`./run-tests` runs this module for a site with ERPNext (`python -m tests.site_setup SITE` from the bench's
`sites` folder, this checkout on PYTHONPATH); the browser tests call `complete_setup()` for a site
without it.
"""

import sys

import frappe

ADMIN_EMAIL = "hub-admin@example.com"
ADMIN_PASSWORD = "Hub-Admin-2026!desk"
COMPANY = "Hub Test Company"
COMPANY_ABBR = "HTC"
CURRENCY = "CAD"


def wizard_answers() -> dict:
	from frappe.utils import get_system_timezone, now_datetime

	year = now_datetime().year
	return {
		"language": "English",
		"country": "Canada",  # yyyy-mm-dd dates, as a new site has
		"currency": CURRENCY,
		"timezone": get_system_timezone(),  # the site keeps the time zone it had
		"full_name": "Hub Admin",
		"email": ADMIN_EMAIL,
		"password": ADMIN_PASSWORD,
		# ERPNext's questions (Frappe alone ignores them)
		"company_name": COMPANY,
		"company_abbr": COMPANY_ABBR,
		"chart_of_accounts": "Standard",
		"fy_start_date": f"{year}-01-01",
		"fy_end_date": f"{year}-12-31",
		"industry": "Manufacturing",
	}


def complete_setup() -> None:
	"""Complete the setup wizard unless it was completed (setup_complete itself says so)."""
	from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

	if not frappe.db.get_single_value("System Settings", "setup_complete"):
		setup_complete(wizard_answers())


if __name__ == "__main__":
	import os

	frappe.init(site=sys.argv[1], sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		complete_setup()
		frappe.db.commit()
		if "erpnext" in frappe.get_installed_apps() and not frappe.db.exists("Company", COMPANY):
			sys.exit(f"the setup wizard did not create the company {COMPANY}")
	finally:
		frappe.destroy()

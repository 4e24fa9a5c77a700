"""The public, versioned API of integration_hub.

Every endpoint lives here and only here, under `/api/method/integration_hub.api.v1.<name>`.
Each one is thin: check who is calling, parse the arguments, call a service module, shape the answer.
"""

import frappe

import integration_hub


@frappe.whitelist(methods=["GET"])
def ping() -> dict:
	"""Tell an authenticated caller that the hub answers, which versions run, and who they are."""
	return {
		"app": "integration_hub",
		"version": integration_hub.__version__,
		"frappe_version": frappe.__version__,
		"user": frappe.session.user,
	}

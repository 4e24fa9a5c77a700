"""The HTTP endpoints of the site's authorization server for AI assistants (security/oauth/ does the
work): `/api/method/integration_hub.api.oauth.<name>`. Each is an edge; Frappe commits a POST at its
end, and `authorize` commits what it learnt (a client's metadata document) itself, being a GET."""

from urllib.parse import quote

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit

from integration_hub.integration_hub.desk import desk_action
from integration_hub.security.oauth import authorization, consent
from integration_hub.security.oauth.server import authorization_server

REGISTRATIONS_PER_HOUR = 60  # per address: registration is open, and writes a row
REGISTRATIONS_CONFIG = "integration_hub_registrations_per_hour"


def registrations_per_hour() -> int:
	return int(frappe.conf.get(REGISTRATIONS_CONFIG) or REGISTRATIONS_PER_HOUR)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def authorize() -> Response | None:
	"""The authorization endpoint: Frappe's login first, then the consent page."""
	if frappe.session.user == "Guest":
		return redirect("/login?redirect-to=" + quote(frappe.request.full_path, safe=""))
	page = authorization.consent_page()
	frappe.db.commit()
	return page


@frappe.whitelist(methods=["POST"])
def approve(decision: str | None = None, **ticked) -> Response:
	"""The consent form's answer (a signed-in user's POST, with Frappe's CSRF token)."""
	return authorization.answer(decision or "", ticked)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def token() -> Response:
	return authorization_server().create_token_response()


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=registrations_per_hour, seconds=3600)
def register() -> Response:
	return authorization_server().create_endpoint_response("client_registration")


@frappe.whitelist(allow_guest=True, methods=["POST"])
def revoke() -> Response:
	return authorization_server().create_endpoint_response("revocation")


@frappe.whitelist(methods=["POST"])
@desk_action
def revoke_connection(connection: str) -> dict:
	"""The Desk's Revoke: a user revokes the assistants connected on their behalf; a manager any."""
	doc = frappe.get_doc(consent.CONNECTION, connection)
	doc.check_permission("read")
	if doc.user != frappe.session.user and not frappe.has_permission(consent.CONNECTION, "write", doc):
		raise frappe.PermissionError(_("Only {0} or a manager may revoke this connection").format(doc.user))
	consent.revoke(doc.name)
	return {"status": "Revoked"}

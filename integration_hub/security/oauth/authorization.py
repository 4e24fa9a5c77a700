"""The authorization request, as the signed-in user meets it: checked (client, redirect URI, PKCE,
resource), then the consent page; the answer then sends the user back to the application with a code,
or with `access_denied`. A request that cannot be trusted to redirect (an unknown client, an
unregistered redirect URI) is answered with a page here, never a redirect.
"""

from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error
from werkzeug.wrappers import Response

import frappe
from frappe import _
from frappe.sessions import get_csrf_token
from frappe.utils.response import build_response

from integration_hub.security.api_keys import SCOPE_OPERATIONS
from integration_hub.security.oauth import consent, scopes
from integration_hub.security.oauth.server import (
	HubAuthorizationServer,
	authorization_server,
	requested_resource,
)
from integration_hub.security.oauth.settings import SETTINGS, may_connect
from integration_hub.security.oauth.urls import endpoint_url

# The parameters of an authorization request the consent form carries back.
REQUEST_PARAMETERS = (
	"response_type",
	"client_id",
	"redirect_uri",
	"scope",
	"state",
	"code_challenge",
	"code_challenge_method",
	"resource",
)


def consent_page():
	"""GET of the authorization endpoint by a signed-in user: the consent page, or why not."""
	server = authorization_server(fetch_metadata_documents=True)
	request = server.create_oauth2_request(None)
	try:
		grant = server.get_consent_grant(request, end_user=frappe.session.user)
		requested_resource(grant)
	except OAuth2Error as error:
		return _refusal(server, request, error)
	client = grant.client
	if not may_connect(frappe.session.user):
		return _page(
			_("Not Permitted"),
			_(
				"Your administrator has not allowed you to connect AI assistants to this site: ask for one "
				"of the roles chosen in {0}."
			).format(_(SETTINGS)),
			403,
		)
	offered = consent.choices(scopes.parse(request.payload.scope))
	if offered.is_empty():
		return _page(
			_("Nothing to Allow"),
			_("{0} asked for nothing you may do on this site.").format(
				frappe.bold(frappe.utils.escape_html(client.display_name))
			),
			403,
		)
	html = frappe.render_template(
		"integration_hub/templates/oauth_consent.html",
		{
			"client": client.display_name,
			"client_uri": client.row.client_uri,
			"user": frappe.session.user,
			"full_name": frappe.utils.get_fullname(frappe.session.user),
			"redirect_host": urlsplit(grant.redirect_uri or "").netloc or grant.redirect_uri,
			"approve_url": endpoint_url("approve"),
			"csrf_token": get_csrf_token(),
			"parameters": [(k, v) for k in REQUEST_PARAMETERS for v in request.payload.datalist.get(k, [])],
			"choices": offered,
			"columns": SCOPE_OPERATIONS,
			"field_name": consent.field_name,
		},
	)
	return _page(_("Connect {0}").format(frappe.utils.escape_html(client.display_name)), html, 200)


def answer(decision: str, ticked: dict):
	"""POST of the consent form: a code for what the user allowed, or `access_denied`."""
	server = authorization_server(fetch_metadata_documents=True)
	request = server.create_oauth2_request(None)
	try:
		grant = server.get_consent_grant(request, end_user=frappe.session.user)
		resource = requested_resource(grant)
	except OAuth2Error as error:
		return _refusal(server, request, error)
	allowed = None
	if decision == "allow" and may_connect(frappe.session.user):
		allowed = consent.granted(consent.choices(scopes.parse(request.payload.scope)), ticked)
	if allowed is None or allowed.is_empty():
		return server.create_authorization_response(request=request, grant_user=None, grant=grant)
	granted = consent.record(grant.client, frappe.session.user, resource, allowed)
	return server.create_authorization_response(request=request, grant_user=granted, grant=grant)


def _refusal(server: HubAuthorizationServer, request, error: OAuth2Error):
	if getattr(error, "redirect_uri", None):  # the redirect URI was checked: tell the application
		return server.error_redirect(request, error)
	return _page(
		_("Cannot Connect"), frappe.utils.escape_html(error.get_error_description() or error.error), 400
	)


def _page(title: str, html: str, status: int) -> Response:
	"""A page in the site's own look (Frappe's message page, as Frappe's own OAuth pages are), which
	no other site may frame: a consent page in a hidden frame could be clicked through."""
	frappe.respond_as_web_page(
		title,
		html,
		http_status_code=status,
		indicator_color="blue" if status == 200 else "red",
		primary_action=None,
		width=720,
	)
	response = build_response("page")
	response.headers["X-Frame-Options"] = "DENY"
	response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
	return response

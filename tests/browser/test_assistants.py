"""An AI assistant connected by a person in a real Chromium: the consent page (Frappe's own login
session, the site's look), a box unticked, Allow; then the person revokes it from the Desk."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

import frappe
from frappe.installer import update_site_config

from integration_hub.api.oauth import REGISTRATIONS_CONFIG
from integration_hub.security.oauth.settings import SETTINGS
from tests.browser.conftest import Desk
from tests.factories import HubResourceFactory
from tests.fixtures_doctypes import ITEM
from tests.web_server import free_port

MCP = "/api/method/integration_hub.api.mcp"
OAUTH = "/api/method/integration_hub.api.oauth"


def test_a_person_allows_an_assistant_then_revokes_it(desk: Desk, committed, desk_url: str):
	committed.track(HubResourceFactory(allow_delete=1))
	settings = frappe.get_doc(SETTINGS)
	before = [row.role for row in settings.allowed_roles]
	settings.set("allowed_roles", [{"role": "System Manager"}])
	settings.save()
	update_site_config(REGISTRATIONS_CONFIG, 10_000)  # the suite registers from 127.0.0.1 all along

	def restore():
		update_site_config(REGISTRATIONS_CONFIG, None)
		settings = frappe.get_doc(SETTINGS)
		settings.set("allowed_roles", [{"role": role} for role in before])
		settings.save()

	committed.on_cleanup(restore)
	committed.commit()
	redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
	client = requests.post(
		f"{desk_url}{OAUTH}.register",
		json={
			"client_name": "Browser Assistant",
			"redirect_uris": [redirect_uri],
			"token_endpoint_auth_method": "none",
		},
		timeout=30,
	).json()
	verifier = secrets.token_urlsafe(48)
	challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
	query = {
		"response_type": "code",
		"client_id": client["client_id"],
		"redirect_uri": redirect_uri,
		"state": "browser-state",
		"code_challenge": challenge,
		"code_challenge_method": "S256",
		"resource": desk_url + MCP,
	}
	# The assistant's loopback listener, as a desktop client has one.
	desk.page.route(f"{redirect_uri}**", lambda route: route.fulfill(status=200, body="Signed in"))
	page = desk.open(f"{OAUTH}.authorize?{urlencode(query)}")
	page.get_by_text("Browser Assistant wants to use this site on your behalf").wait_for()
	desk.screenshot("consent-page")
	page.locator(f'input[name="operation:{ITEM}:delete"]').uncheck()
	with page.expect_request(lambda request: request.url.startswith(redirect_uri)) as sent_back:
		page.get_by_role("button", name="Allow").click()
	answer = {k: v[0] for k, v in parse_qs(urlsplit(sent_back.value.url).query).items()}
	assert answer["state"] == "browser-state" and answer["iss"] == desk_url + OAUTH
	tokens = requests.post(
		f"{desk_url}{OAUTH}.token",
		data={
			"grant_type": "authorization_code",
			"code": answer["code"],
			"redirect_uri": redirect_uri,
			"client_id": client["client_id"],
			"code_verifier": verifier,
		},
		timeout=30,
	).json()
	ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
	headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
	assert requests.post(desk_url + MCP, json=ping, headers=headers, timeout=30).status_code == 200

	desk.open("/app/hub-assistant-connection?client_name=Browser%20Assistant")
	desk.page.locator(".list-row .level-item.bold a, .list-row a.ellipsis").first.click()
	desk.wait_until_idle()
	desk.page.get_by_text("Hub Test Item").first.wait_for()
	desk.screenshot("connection")
	desk.action("Revoke")
	desk.confirm()
	desk.wait_until_idle()
	desk.page.locator(".indicator-pill", has_text="Revoked").wait_for()
	assert requests.post(desk_url + MCP, json=ping, headers=headers, timeout=30).status_code == 401
	committed.on_cleanup(lambda: _forget_client(client["client_id"]))


def _forget_client(client_id: str) -> None:
	connections = frappe.get_all("Hub Assistant Connection", filters={"client": client_id}, pluck="name")
	frappe.db.delete("Hub OAuth Token", {"client": client_id})
	for connection in connections:
		for table in ("Hub API Key Scope", "Hub API Key Method", "Hub API Key Report"):
			frappe.db.delete(table, {"parent": connection, "parenttype": "Hub Assistant Connection"})
	frappe.db.delete("Hub Assistant Connection", {"client": client_id})
	frappe.db.delete("Hub OAuth Client", client_id)

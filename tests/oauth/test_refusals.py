"""What the authorization server and the hub refuse, each over real HTTP against the served site: a
code without its verifier, a code used twice, a redirect URI not registered, a token for another
resource, a revoked token or connection, a scope the token lacks; and what it accepts that strict
servers would not (any port on loopback, a second registration, a metadata document as client id)."""

import contextlib
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

import frappe
from frappe.installer import update_site_config

from integration_hub.api.oauth import REGISTRATIONS_CONFIG
from integration_hub.security.oauth import scopes
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import read_committed
from tests.oauth.conftest import MCP, OAUTH, PASSWORD, REDIRECT_URI, Assistant, bearer, redirect_parameters

API = "/api/method/integration_hub.api.v1"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
JSON_RPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def mcp(base_url: str, token: str, message: dict = PING) -> requests.Response:
	return requests.post(base_url + MCP, json=message, headers={**JSON_RPC, **bearer(token)}, timeout=30)


def test_a_code_needs_its_verifier_and_is_used_once(hub, world):
	assistant = Assistant(hub)
	code = assistant.code(world.person.name)
	no_verifier = assistant.exchange(code, code_verifier=None)
	assert (no_verifier.status_code, no_verifier.json()["error"]) == (400, "invalid_request"), (
		no_verifier.text
	)
	wrong_verifier = assistant.exchange(code, code_verifier="x" * 50)
	assert (wrong_verifier.status_code, wrong_verifier.json()["error"]) == (400, "invalid_grant")

	code = assistant.code(world.person.name)
	first = assistant.exchange(code)
	assert first.status_code == 200, first.text
	assert mcp(hub, first.json()["access_token"]).status_code == 200
	again = assistant.exchange(code)
	assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
	replayed = mcp(hub, first.json()["access_token"])
	assert replayed.status_code == 401, "a replayed code revokes what it gave"
	assert 'error="invalid_token"' in replayed.headers["WWW-Authenticate"]


def test_plain_pkce_or_none_at_all_is_refused_back_at_the_client(hub, world):
	assistant = Assistant(hub)
	for method in ("plain", None):
		answer = assistant.authorize(world.person.name, code_challenge_method=method)
		assert answer.status_code in (302, 303), answer.text[-500:]
		sent_back = redirect_parameters(answer)
		assert sent_back["error"] == "invalid_request" and sent_back["iss"] == hub + OAUTH


def test_a_redirect_uri_must_be_registered_and_the_same_at_the_token_endpoint(hub, world):
	assistant = Assistant(hub)
	unregistered = assistant.authorize(world.person.name, redirect_uri="https://attacker.example/callback")
	assert unregistered.status_code == 400 and "Location" not in unregistered.headers, "never redirected"
	other_path = assistant.authorize(world.person.name, redirect_uri="http://127.0.0.1:43110/other")
	assert other_path.status_code == 400

	other_port = assistant.authorize(world.person.name, redirect_uri="http://127.0.0.1:55123/callback")
	assert other_port.status_code in (302, 303), "a desktop client listens on any free port"
	assert other_port.headers["Location"].startswith("http://127.0.0.1:55123/callback?")

	code = assistant.code(world.person.name)
	answer = assistant.exchange(code, redirect_uri="http://127.0.0.1:43110/elsewhere")
	assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_clients_register_as_vs_code_cursor_and_claude_do(hub, world):
	vs_code = {
		"client_name": "Visual Studio Code",
		"redirect_uris": [
			"https://insiders.vscode.dev/redirect",
			"https://vscode.dev/redirect",
			"http://127.0.0.1/",
			"http://127.0.0.1:33418/",
		],
		"grant_types": [
			"authorization_code",
			"refresh_token",
			"urn:ietf:params:oauth:grant-type:device_code",
		],
		"response_types": ["code"],
		"token_endpoint_auth_method": "none",
		"application_type": "native",
	}
	registered = requests.post(f"{hub}{OAUTH}.register", json=vs_code, timeout=30)
	assert registered.status_code == 201, registered.text
	assert registered.json()["grant_types"] == ["authorization_code", "refresh_token"], (
		"the device flow left out"
	)
	assistant = Assistant.__new__(Assistant)
	assistant.base_url, assistant.client_id = hub, registered.json()["client_id"]
	assistant.redirect_uri = "http://127.0.0.1:52811/"  # port 33418 was taken: VS Code takes another
	assert mcp(hub, assistant.tokens(world.person.name)["access_token"]).status_code == 200

	cursor = {"client_name": "Cursor", "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback"]}
	confidential = requests.post(f"{hub}{OAUTH}.register", json=cursor, timeout=30).json()
	assert confidential["token_endpoint_auth_method"] == "client_secret_post", "Basic becomes the body's"
	assert confidential["client_secret"], "a confidential client gets its secret once"
	editor = Assistant.__new__(Assistant)
	editor.base_url, editor.client_id, editor.redirect_uri = (
		hub,
		confidential["client_id"],
		cursor["redirect_uris"][0],
	)
	wrong = editor.exchange(editor.code(world.person.name), client_secret="not-the-secret")
	assert wrong.json()["error"] == "invalid_client", wrong.text
	right = editor.exchange(editor.code(world.person.name), client_secret=confidential["client_secret"])
	assert right.status_code == 200, right.text
	without_redirect = requests.post(f"{hub}{OAUTH}.register", json={"client_name": "x"}, timeout=30)
	assert (without_redirect.status_code, without_redirect.json()["error"]) == (
		400,
		"invalid_client_metadata",
	)


def test_what_an_application_says_about_itself_is_plain_text_and_its_redirects_safe(hub, world):
	base = {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
	refused = [
		{**base, "client_name": 'Helper <img src=x onerror="alert(1)">'},
		{**base, "client_name": "Helper", "client_uri": 'https://a.example/"><script>'},
		{**base, "client_name": "Helper", "logo_uri": "javascript:alert(1)"},
		{**base, "redirect_uris": ["http://assistant.example/callback"]},  # plain http off loopback
	]
	for metadata in refused:
		answer = requests.post(f"{hub}{OAUTH}.register", json=metadata, timeout=30)
		assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client_metadata"), metadata


def test_a_code_exchanged_twice_at_once_gives_tokens_once(hub, world):
	assistant = Assistant(hub)
	code = assistant.code(world.person.name)
	with ThreadPoolExecutor(max_workers=2) as pool:
		answers = list(pool.map(lambda _n: assistant.exchange(code), range(2)))
	assert sorted(answer.status_code for answer in answers) == [200, 400], [a.text for a in answers]
	granted = next(answer for answer in answers if answer.status_code == 200).json()
	assert mcp(hub, granted["access_token"]).status_code == 401, "the replay revoked what the code gave"


def test_registration_is_rate_limited_per_address(hub, world):
	# An address of its own (Frappe takes the client's address from X-Forwarded-For, as behind a proxy).
	address = {"X-Forwarded-For": f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}, 127.0.0.1"}
	registration = {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
	update_site_config(REGISTRATIONS_CONFIG, 2)
	try:
		answers = [
			requests.post(
				f"{hub}{OAUTH}.register",
				json={"client_name": f"Flood {n}", **registration},
				headers=address,
				timeout=30,
			).status_code
			for n in range(3)
		]
	finally:
		update_site_config(REGISTRATIONS_CONFIG, 10_000)
	assert answers == [201, 201, 429]


def test_a_token_is_accepted_only_by_the_resource_it_was_issued_for(hub, world):
	port = urlsplit(hub).port
	elsewhere = f"http://localhost:{port}"  # the same server under another name: another resource
	assistant = Assistant(elsewhere)
	tokens = assistant.tokens(world.person.name, resource=elsewhere + MCP)
	assert mcp(elsewhere, tokens["access_token"]).status_code == 200
	refused = mcp(hub, tokens["access_token"])
	assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
	assert "was issued for" in refused.json()["error"]["message"]

	foreign = assistant.authorize(world.person.name, resource="https://other.example/mcp")
	assert redirect_parameters(foreign)["error"] == "invalid_target"


def test_a_token_lacking_a_scope_gets_403_insufficient_scope_and_what_it_needs(hub, world):
	assistant = Assistant(hub)
	tokens = assistant.tokens(world.person.name, scope=scopes.READ)
	assert tokens["scope"] == scopes.READ
	write = {"doctype": ITEM, "data": {"code": "OAUTH-NO", "title": "no"}}
	over_http = requests.post(
		f"{hub}{API}.upsert", json=write, headers=bearer(tokens["access_token"]), timeout=30
	)
	assert (over_http.status_code, over_http.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
	challenge = f'error="insufficient_scope", scope="{scopes.READ} {scopes.WRITE}"'  # what it had, and more
	assert challenge in over_http.headers["WWW-Authenticate"]
	call = {
		"jsonrpc": "2.0",
		"id": 2,
		"method": "tools/call",
		"params": {"name": "upsert_document", "arguments": write},
	}
	over_mcp = mcp(hub, tokens["access_token"], call)
	assert over_mcp.status_code == 403, over_mcp.text
	assert 'error="insufficient_scope"' in over_mcp.headers["WWW-Authenticate"]
	listed = mcp(hub, tokens["access_token"], {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
	assert "upsert_document" not in {tool["name"] for tool in listed.json()["result"]["tools"]}
	assert read_committed(f"select name from `tab{ITEM}` where code = 'OAUTH-NO'") == []


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_connection(hub, world):
	assistant = Assistant(hub)
	first = assistant.tokens(world.person.name)
	refresh = {"grant_type": "refresh_token", "client_id": assistant.client_id, "resource": hub + MCP}
	second = requests.post(f"{hub}{OAUTH}.token", data={**refresh, "refresh_token": first["refresh_token"]})
	assert second.status_code == 200, second.text
	assert second.json()["refresh_token"] != first["refresh_token"], "rotated"
	assert mcp(hub, second.json()["access_token"]).status_code == 200
	reused = requests.post(f"{hub}{OAUTH}.token", data={**refresh, "refresh_token": first["refresh_token"]})
	assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
	assert mcp(hub, second.json()["access_token"]).status_code == 401, "theft suspected: all revoked"


def test_revoked_tokens_and_connections_are_refused_on_their_next_request(hub, world):
	assistant = Assistant(hub)
	tokens = assistant.tokens(world.person.name)
	revoked = requests.post(
		f"{hub}{OAUTH}.revoke", data={"token": tokens["access_token"], "client_id": assistant.client_id}
	)
	assert revoked.status_code == 200, revoked.text
	assert mcp(hub, tokens["access_token"]).status_code == 401

	tokens = assistant.tokens(world.person.name)
	signed_out = requests.post(
		f"{hub}{OAUTH}.revoke", data={"token": tokens["refresh_token"], "client_id": assistant.client_id}
	)
	assert signed_out.status_code == 200
	assert mcp(hub, tokens["access_token"]).status_code == 401, "with its refresh token, its access token"

	tokens = assistant.tokens(world.person.name)
	assert mcp(hub, tokens["access_token"]).status_code == 200
	connection = frappe.db.get_value(
		"Hub Assistant Connection",
		{"user": world.person.name, "client": assistant.client_id, "status": "Active"},
	)
	stranger = signed_in(hub, world.outsider.name)
	refused = stranger.post(f"{hub}{OAUTH}.revoke_connection", data={"connection": connection})
	assert refused.status_code == 403, "someone else's connection"
	owner = signed_in(hub, world.person.name)
	answer = owner.post(f"{hub}{OAUTH}.revoke_connection", data={"connection": connection})
	assert answer.status_code == 200, answer.text
	assert mcp(hub, tokens["access_token"]).status_code == 401
	status = "select status from `tabHub Assistant Connection` where name = %s"
	assert read_committed(status, (connection,)) == [["Revoked"]]


def test_only_users_with_a_chosen_role_may_connect_and_a_denial_goes_back_with_access_denied(hub, world):
	assistant = Assistant(hub)
	settings = frappe.get_doc("Hub Assistant Settings")
	settings.set("allowed_roles", [{"role": "Blogger"}])
	settings.save()
	world.committed.commit()
	try:
		page = assistant.authorize(world.person.name)
		assert page.status_code == 403 and "not allowed you to connect AI assistants" in page.text
		assert assistant.code(world.outsider.name), "the outsider has the chosen role"
	finally:
		settings.set("allowed_roles", [{"role": EDITOR_ROLE}])
		settings.save()
		world.committed.commit()
	denied = assistant.authorize(world.person.name, decision="deny")
	assert redirect_parameters(denied)["error"] == "access_denied"
	assert redirect_parameters(denied)["iss"] == hub + OAUTH


def test_a_client_id_metadata_document_identifies_an_application(hub, world):
	with metadata_document({"client_name": "Documented Assistant", "redirect_uris": [REDIRECT_URI]}) as url:
		assistant = Assistant.__new__(Assistant)
		assistant.base_url, assistant.redirect_uri, assistant.client_id = hub, REDIRECT_URI, url
		tokens = assistant.tokens(world.person.name)
	assert mcp(hub, tokens["access_token"]).status_code == 200
	client = "select client_name, registration from `tabHub OAuth Client` where client_id = %s"
	assert read_committed(client, (url,)) == [["Documented Assistant", "Metadata Document"]]


def test_the_consent_page_may_not_be_framed_by_another_site(hub, world):
	assistant = Assistant(hub)
	browser = signed_in(hub, world.person.name)
	query = {
		"response_type": "code",
		"client_id": assistant.client_id,
		"redirect_uri": REDIRECT_URI,
		"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		"code_challenge_method": "S256",
	}
	page = browser.get(f"{hub}{OAUTH}.authorize", params=query, allow_redirects=False, timeout=30)
	assert page.status_code == 200 and "wants to use this site on your behalf" in page.text
	assert page.headers["X-Frame-Options"] == "DENY"
	assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def signed_in(base_url: str, user: str) -> requests.Session:
	session = requests.Session()
	assert (
		session.post(f"{base_url}/api/method/login", data={"usr": user, "pwd": PASSWORD}).status_code == 200
	)
	session.headers["X-Frappe-CSRF-Token"] = csrf_token(session, base_url)
	return session


def csrf_token(session: requests.Session, base_url: str) -> str:
	page = session.get(f"{base_url}/app/hub-assistant-connection", timeout=30).text
	marker = 'frappe.csrf_token = "'
	return page.split(marker, 1)[1].split('"', 1)[0]


@contextlib.contextmanager
def metadata_document(values: dict):
	"""A Client ID Metadata Document served on 127.0.0.1 (bounded: it stops with the block, or after
	two minutes); yields its URL, which is the client id."""

	class Handler(BaseHTTPRequestHandler):
		def do_GET(self):
			body = json.dumps({"client_id": url, **values}).encode()
			self.send_response(200)
			self.send_header("Content-Type", "application/json")
			self.send_header("Content-Length", str(len(body)))
			self.end_headers()
			self.wfile.write(body)

		def log_message(self, *args):
			pass

	server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
	url = f"http://127.0.0.1:{server.server_address[1]}/oauth/client.json"
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	thread.start()
	stopper = threading.Timer(120, server.shutdown)
	stopper.start()
	try:
		yield url
	finally:
		stopper.cancel()
		server.shutdown()
		server.server_close()

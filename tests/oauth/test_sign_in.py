"""An AI assistant signs in from the hub's MCP address alone, as the MCP authorization specification
asks: the official MCP SDK's OAuth client does discovery, registration, PKCE and the token exchange;
Frappe's login and the consent page are answered over HTTP as a browser answers them."""

import requests

import frappe

from integration_hub.security.oauth import scopes
from tests.fixtures_doctypes import CATEGORY, ITEM
from tests.helpers import read_committed
from tests.mcp_sdk import run_client
from tests.oauth.conftest import MCP, OAUTH, PASSWORD, REDIRECT_URI, Assistant, bearer

API = "/api/method/integration_hub.api.v1"


def test_the_sdk_signs_in_from_the_url_alone_then_lists_and_calls_tools(hub, world):
	code = f"OAUTH-{frappe.generate_hash(length=8)}"
	outcome = run_client(
		{
			"url": hub + MCP,
			"mode": "auto",
			"oauth": {
				"username": world.person.name,
				"password": PASSWORD,
				"redirect_uri": REDIRECT_URI,
				"client_name": "SDK assistant",
				"untick": [f"operation:{ITEM}:delete"],
			},
			"steps": [
				{"op": "list_tools"},
				{"op": "call_tool", "name": "describe_resource", "arguments": {}},
				{
					"op": "call_tool",
					"name": "upsert_document",
					"arguments": {"doctype": ITEM, "data": {"code": code, "title": "By an assistant"}},
				},
			],
		}
	)
	assert "connect_error" not in outcome, outcome
	seen = outcome["oauth"]["seen"]
	assert (
		seen["before_login"]["status"] in (302, 303)
		and "/login?redirect-to=" in seen["before_login"]["location"]
	)
	assert seen["consent"]["status"] == 200 and "SDK assistant" in seen["consent"]["title"]
	assert (f"operation:{ITEM}:delete", True) in [tuple(box) for box in seen["consent"]["boxes"]]
	assert seen["answer"]["status"] in (302, 303) and "iss=" in seen["answer"]["location"]

	tools = {tool["name"] for page in outcome["steps"][0]["pages"] for tool in page["tools"]}
	assert "upsert_document" in tools and "delete_document" not in tools, "the user unticked delete"
	resources = {r["doctype"]: r["operations"] for r in _structured(outcome["steps"][1])["resources"]}
	assert resources == {CATEGORY: ["read", "changes"], ITEM: ["read", "create", "update", "changes"]}
	assert _structured(outcome["steps"][2])["status"] == "created"
	owner = read_committed(f"select owner from `tab{ITEM}` where code = %s", (code,))
	assert owner == [[world.person.name]], "it acts as the user"

	tokens, client = outcome["oauth"]["tokens"], outcome["oauth"]["client_info"]
	assert tokens["access_token"].startswith("ihat_") and tokens["refresh_token"].startswith("ihrt_")
	assert set(tokens["scope"].split()) == {scopes.READ, scopes.WRITE}, "what the consent needs"
	assert client["client_id"].startswith("ihc_") and "client_secret" not in client, "a public client"
	stored = frappe.get_all(
		"Hub OAuth Token", fields=["name", "token_hash"], filters={"user": world.person.name}
	)
	assert stored and all(row.token_hash.startswith("sha256$") for row in stored)
	assert not any(tokens["access_token"].split("_", 2)[2] in str(row.values()) for row in stored), (
		"hashes only"
	)

	# The same token on the document API, within the same consent.
	listed = requests.get(
		f"{hub}{API}.list_documents", params={"doctype": ITEM}, headers=bearer(tokens["access_token"])
	)
	assert listed.status_code == 200, listed.text
	refused = requests.post(
		f"{hub}{API}.delete_document",
		json={"doctype": ITEM, "key": {"code": code}},
		headers=bearer(tokens["access_token"]),
	)
	assert refused.status_code == 403 and refused.json()["code"] == "PERMISSION_DENIED", refused.text
	assert "did not allow this assistant delete" in refused.json()["detail"], "the user unticked it"


def test_the_discovery_documents_and_the_challenge_agree(hub, world):
	unauthenticated = requests.post(f"{hub}{MCP}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
	assert unauthenticated.status_code == 401
	challenge = unauthenticated.headers["WWW-Authenticate"]
	resource_metadata = f"{hub}/.well-known/oauth-protected-resource{MCP}"
	assert f'resource_metadata="{resource_metadata}"' in challenge
	assert f'scope="{" ".join(scopes.SCOPES)}"' in challenge

	for path in (resource_metadata, f"{hub}/.well-known/oauth-protected-resource"):
		metadata = requests.get(path).json()
		assert metadata["resource"] == hub + MCP
		assert metadata["authorization_servers"] == [hub + OAUTH]
	issuer = hub + OAUTH
	documents = [
		requests.get(f"{hub}/.well-known/oauth-authorization-server{OAUTH}"),
		requests.get(f"{hub}/.well-known/oauth-authorization-server"),
		requests.get(f"{hub}/.well-known/openid-configuration{OAUTH}"),
	]
	assert [d.status_code for d in documents] == [200, 200, 200]
	for document in (d.json() for d in documents):
		assert document["issuer"] == issuer
		assert document["code_challenge_methods_supported"] == ["S256"]
		assert document["authorization_endpoint"] == f"{issuer}.authorize"
		assert document["token_endpoint"] == f"{issuer}.token"
		assert document["registration_endpoint"] == f"{issuer}.register"
		assert document["authorization_response_iss_parameter_supported"] is True
	frappes_own = requests.get(f"{hub}/.well-known/openid-configuration", allow_redirects=False)
	assert frappes_own.status_code in (301, 302), "Frappe's own OAuth provider keeps its document"


def test_registering_twice_gives_the_same_public_client(hub, world):
	first, second = Assistant(hub, name="Registers twice"), Assistant(hub, name="Registers twice")
	assert first.client_id == second.client_id


def _structured(step: dict) -> dict:
	assert "error" not in step, step
	assert step["result"].get("isError") is not True, step
	return step["result"]["structuredContent"]

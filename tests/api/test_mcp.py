"""The MCP endpoint, driven over real HTTP by the official MCP Python SDK client (tests/mcp_client.py, in
its own virtualenv) and, for what a conforming client never sends, by raw JSON-RPC."""

import json
import uuid

import jsonschema
import pytest

import frappe
from frappe.installer import update_site_config

from integration_hub.security.roles import INTEGRATION_MANAGER
from tests.conftest import Committed
from tests.factories import (
	CategoryFactory,
	HubAPIKeyFactory,
	HubResourceFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
	expose_items_and_categories,
	issue_api_token,
)
from tests.fixtures_doctypes import AUDITOR_ROLE, CATEGORY, EDITOR_ROLE, INVOICE, ITEM
from tests.helpers import assert_activity_recorded, make_site_dormant, read_committed
from tests.mcp_sdk import run_client

MCP = "/api/method/integration_hub.api.mcp"
READ_TOOLS = {"describe_resource", "list_documents", "get_document"}
WRITE_TOOLS = {"upsert_document", "create_document", "bulk_upsert_documents"}
ALL_TOOLS = READ_TOOLS | WRITE_TOOLS | {"delete_document", "list_changes"}
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def world(site):
	"""Exposed Item (every operation) and Category (read); callers with a key or a token. Committed once
	for the module, because the web server must see it."""
	committed = Committed()
	track = committed.track
	expose_items_and_categories(track)
	allowed, other = track(CategoryFactory()), track(CategoryFactory())
	items = {
		"allowed": track(ItemFactory(code="MCP-ALLOWED", category=allowed.name, cost=42)),
		"other": track(ItemFactory(code="MCP-OTHER", category=other.name, cost=42)),
	}
	manager = track(UserFactory(roles=[INTEGRATION_MANAGER, EDITOR_ROLE]))
	auditor = track(UserFactory(roles=[AUDITOR_ROLE]))
	restricted = track(UserFactory(roles=[EDITOR_ROLE]))
	track(UserPermissionFactory(user=restricted.name, for_value=allowed.name))
	keyholder = track(UserFactory(roles=[EDITOR_ROLE]))
	read_key = track(
		HubAPIKeyFactory(
			user=keyholder.name,
			scopes=[
				{"resource": ITEM, "allow_read": 1},
				{"resource": CATEGORY, "allow_read": 1},
			],
		)
	)
	create_key = track(
		HubAPIKeyFactory(
			user=keyholder.name,
			scopes=[
				{"resource": CATEGORY, "allow_read": 1},
				{"resource": ITEM, "allow_read": 0, "allow_create": 1},
			],
		)
	)
	tokens = {
		"manager": f"token {issue_api_token(manager)}",
		"auditor": f"token {issue_api_token(auditor)}",
		"restricted": f"token {issue_api_token(restricted)}",
		"read_key": f"Bearer {read_key.flags.plain_token}",
		"create_key": f"Bearer {create_key.flags.plain_token}",
	}
	update_site_config("integration_hub_rate_limit_per_minute", 1_000_000)

	def remove_written():
		update_site_config("integration_hub_rate_limit_per_minute", None)
		update_site_config("integration_hub_mcp_page_size", None)
		frappe.db.delete(ITEM, {"code": ("like", "MCPW-%")})
		frappe.db.delete("Hub Change", {"ref_doctype": ("in", (ITEM, CATEGORY))})
		frappe.db.delete("Hub Idempotency Key", {"user": ("in", (manager.name, keyholder.name))})

	committed.on_cleanup(remove_written)
	committed.commit()
	yield frappe._dict(
		tokens=tokens,
		items=items,
		allowed=allowed,
		manager=manager,
		read_key=read_key,
		keyholder=keyholder,
		committed=committed,
	)
	committed.cleanup()


@pytest.fixture
def sdk(server, site, world):
	"""`sdk(caller, steps, mode="auto")`: run the SDK client as that caller; its outcome."""

	def run(caller: str, steps: list[dict], mode: str = "auto", authorization: str | None = None) -> dict:
		headers = {"Host": site, "Authorization": authorization or world.tokens[caller]}
		return run_client({"url": f"{server}{MCP}", "headers": headers, "mode": mode, "steps": steps})

	return run


@pytest.fixture
def rpc(http, world):
	"""`rpc(caller, method, params, headers=...)`: one raw JSON-RPC POST; the response."""

	def post(caller: str | None, method: str, params: dict | None = None, *, headers=None, id_=1, body=None):
		client = http()
		if caller:
			client.headers["Authorization"] = world.tokens[caller]
		message = body if body is not None else {"jsonrpc": "2.0", "id": id_, "method": method}
		if params is not None and body is None:
			message["params"] = params
		return client.post(MCP, json=message, headers={**JSON_HEADERS, **(headers or {})})

	return post


def tools_of(outcome: dict) -> dict[str, dict]:
	assert "connect_error" not in outcome, outcome
	pages = outcome["steps"][0]["pages"]
	return {tool["name"]: tool for page in pages for tool in page["tools"]}


def structured(step: dict) -> dict:
	assert "error" not in step, step
	result = step["result"]
	assert result.get("isError") is not True, result
	return result["structuredContent"]


def problem(step: dict, code: str) -> dict:
	result = step["result"]
	assert result["isError"] is True, result
	error = result["structuredContent"]["error"]
	assert error["code"] == code, error
	assert result["content"][0]["text"].startswith(f"{code}: ")
	assert "Traceback" not in str(result)
	return error


def validate_output(tool: dict, content: dict) -> None:
	jsonschema.Draft202012Validator(tool["outputSchema"]).validate(content)


# --- handshake and revisions -----------------------------------------------------------------------


@pytest.mark.parametrize(
	("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28"), ("2026-07-28", "2026-07-28")]
)
def test_the_sdk_connects_on_each_revision(sdk, mode, version):
	call = {
		"op": "call_tool",
		"name": "get_document",
		"arguments": {"doctype": ITEM, "key": {"code": "MCP-OTHER"}},
	}
	outcome = sdk("manager", [{"op": "list_tools"}, call], mode=mode)
	assert outcome.get("protocol_version") == version, outcome
	got = structured(outcome["steps"][1])  # the SDK validated it against the outputSchema
	assert got["doc"]["code"] == "MCP-OTHER" and "cost" not in got["doc"]
	validate_output(tools_of(outcome)["get_document"], got)
	if mode != "2026-07-28":  # a pinned revision skips server/discover, so the SDK knows no server info
		assert outcome["server_info"]["name"] == "integration_hub"
		assert "describe_resource" in outcome["instructions"]
	assert set(tools_of(outcome)) == ALL_TOOLS


def test_initialize_2025_06_18_over_raw_json_rpc(rpc):
	response = rpc(
		"manager",
		"initialize",
		{"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
	)
	assert response.status_code == 200, response.text
	result = response.json()["result"]
	assert result["protocolVersion"] == "2025-06-18"
	assert result["capabilities"]["tools"] == {"listChanged": False}
	assert "Mcp-Session-Id" not in response.headers, "the server keeps no session"
	assert (
		rpc("manager", None, body={"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code
		== 202
	)
	listed = rpc("manager", "tools/list", {}, headers={"MCP-Protocol-Version": "2025-06-18"})
	assert listed.status_code == 200 and set(t["name"] for t in listed.json()["result"]["tools"]) == ALL_TOOLS
	older = rpc("manager", "initialize", {"protocolVersion": "2024-11-05", "capabilities": {}})
	assert older.json()["result"]["protocolVersion"] == "2025-11-25", "answered with the latest it speaks"


def modern_params(**params) -> dict:
	meta = {
		"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": {},
	}
	return {**params, "_meta": meta}


def modern_headers(method: str, name: str | None = None) -> dict:
	headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
	return {**headers, "Mcp-Name": name} if name else headers


def test_2026_07_28_requests_stand_alone(rpc):
	discovered = rpc("manager", "server/discover", modern_params(), headers=modern_headers("server/discover"))
	result = discovered.json()["result"]
	assert "2026-07-28" in result["supportedVersions"] and "2025-06-18" in result["supportedVersions"]
	assert result["resultType"] == "complete" and result["cacheScope"] == "private" and result["ttlMs"] == 0
	assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "integration_hub"
	mismatch = rpc("manager", "tools/list", modern_params(), headers=modern_headers("tools/call"))
	assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
	unsupported = modern_params()
	unsupported["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2030-01-01"
	refused = rpc(
		"manager",
		"tools/list",
		unsupported,
		headers={"MCP-Protocol-Version": "2030-01-01", "Mcp-Method": "tools/list"},
	)
	assert refused.status_code == 400 and refused.json()["error"]["code"] == -32022
	assert refused.json()["error"]["data"]["supported"] == ["2026-07-28"]
	unknown = rpc("manager", "no/such", modern_params(), headers=modern_headers("no/such"))
	assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32601


# --- what each caller sees -------------------------------------------------------------------------


DESCRIBE_ALL = {"op": "call_tool", "name": "describe_resource", "arguments": {}}


def describe_item(**arguments) -> dict:
	return {"op": "call_tool", "name": "describe_resource", "arguments": {"doctype": ITEM, **arguments}}


def test_each_caller_lists_exactly_its_tools_and_resources(sdk):
	outcome = sdk("read_key", [{"op": "list_tools"}, DESCRIBE_ALL])
	read_key = tools_of(outcome)
	assert set(read_key) == READ_TOOLS, "scopes read on both: no write, no delete, no change feed"
	assert all(tool["annotations"]["readOnlyHint"] is True for tool in read_key.values())
	assert your_resources(outcome) == {CATEGORY: ["read"], ITEM: ["read"]}

	outcome = sdk("create_key", [{"op": "list_tools"}, DESCRIBE_ALL])
	create_key = tools_of(outcome)
	assert set(create_key) == READ_TOOLS | WRITE_TOOLS
	assert your_resources(outcome) == {CATEGORY: ["read"], ITEM: ["create"]}, "it may not read Items"
	assert create_key["upsert_document"]["annotations"]["destructiveHint"] is False, "create only: additive"

	outcome = sdk("manager", [{"op": "list_tools"}, DESCRIBE_ALL, describe_item()])
	manager = tools_of(outcome)
	assert set(manager) == ALL_TOOLS
	assert your_resources(outcome) == {
		CATEGORY: ["read", "changes"],
		ITEM: ["read", "create", "update", "delete", "changes"],
	}
	assert manager["upsert_document"]["annotations"]["destructiveHint"] is True, "it may overwrite"
	assert manager["delete_document"]["annotations"] == {
		"readOnlyHint": False,
		"destructiveHint": True,
		"idempotentHint": True,
		"openWorldHint": False,
	}
	for tool in manager.values():
		jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
		jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])
		assert tool["inputSchema"]["type"] == "object" and tool["outputSchema"]["type"] == "object"
		assert "enum" not in tool["inputSchema"]["properties"].get("doctype", {}), "no per-caller list"
		assert "$defs" not in tool["inputSchema"] and "$defs" not in tool["outputSchema"]
	editor_fields = structured(outcome["steps"][2])["fields"]
	assert "cost" not in editor_fields, "an editor may not read permlevel 1: not described"
	assert editor_fields["code"] == {"type": "Data", "required": True}
	assert editor_fields["category"]["options"] == CATEGORY and "read_only" not in editor_fields["category"]

	outcome = sdk("auditor", [{"op": "list_tools"}, describe_item(fields=["cost", "computed"])])
	auditor = tools_of(outcome)
	assert set(auditor) == READ_TOOLS | {"list_changes"}, "read-only roles: read tools only"
	auditor_fields = structured(outcome["steps"][1])["fields"]
	assert auditor_fields["cost"]["read_only"] is True, "the auditor may read permlevel 1, not write it"
	assert auditor_fields["code"]["read_only"] is True


def your_resources(outcome: dict) -> dict[str, list[str]]:
	return {r["doctype"]: r["operations"] for r in structured(outcome["steps"][1])["resources"]}


def test_a_description_shows_the_usual_fields_and_the_rest_on_request(sdk):
	outcome = sdk(
		"manager",
		[
			describe_item(),
			describe_item(fields=["rows.qty", "computed"]),
			describe_item(all_fields=True),
			describe_item(fields=["no_such_field", "code"]),
			{"op": "read_resource", "uri": "integration-hub://resource/" + ITEM.replace(" ", "%20")},
		],
	)
	usual, asked, every = (structured(outcome["steps"][i]) for i in range(3))
	assert usual["key_fields"] == ["code"] and usual["more_fields"] > 0
	assert "computed" not in usual["fields"] and "computed" in asked["fields"]
	assert asked["tables"]["rows"]["fields"]["qty"]["type"] in ("Float", "Int")
	assert "more_fields" not in every and set(usual["fields"]) < set(every["fields"])
	refused = problem(outcome["steps"][3], "BAD_REQUEST")
	assert refused["errors"] == [{"pointer": "/fields/0"}], "points at the wrong argument"
	read = outcome["steps"][4]["result"]["contents"][0]
	assert json.loads(read["text"]) == usual, "resources/read gives what describe_resource gives"


def test_a_user_restricted_by_user_permissions_reads_only_its_documents(sdk, world):
	outcome = sdk(
		"restricted",
		[
			{"op": "list_tools"},
			{
				"op": "call_tool",
				"name": "list_documents",
				"arguments": {"doctype": ITEM, "fields": ["code"], "filters": [["code", "like", "MCP-%"]]},
			},
			{
				"op": "call_tool",
				"name": "get_document",
				"arguments": {"doctype": ITEM, "key": {"code": "MCP-OTHER"}},
			},
		],
	)
	assert set(tools_of(outcome)) == ALL_TOOLS
	listed = structured(outcome["steps"][1])
	assert [row["code"] for row in listed["data"]] == ["MCP-ALLOWED"]
	problem(outcome["steps"][2], "NOT_FOUND")


def test_tools_list_pages_with_a_cursor(sdk, rpc):
	update_site_config("integration_hub_mcp_page_size", 3)
	try:
		outcome = sdk("manager", [{"op": "list_tools"}, {"op": "list_resources"}])
		pages = outcome["steps"][0]["pages"]
		assert [len(page["tools"]) for page in pages] == [3, 3, 2], "followed nextCursor"
		assert "nextCursor" not in pages[-1]
		assert set(tools_of(outcome)) == ALL_TOOLS
		assert [len(page["resources"]) for page in outcome["steps"][1]["pages"]] == [3]
		tampered = rpc("manager", "tools/list", {"cursor": pages[0]["nextCursor"] + "x"})
		assert tampered.json()["error"]["code"] == -32602
	finally:
		update_site_config("integration_hub_mcp_page_size", None)


# --- tool calls ------------------------------------------------------------------------------------


def test_every_tool_reads_and_writes_through_the_api(sdk, world):
	code = f"MCPW-{uuid.uuid4().hex[:8]}"
	idempotency_key = str(uuid.uuid4())
	upsert = {"doctype": ITEM, "data": {"code": code, "title": "From an assistant", "qty": "5"}}
	steps = [
		{"op": "list_tools"},
		{"op": "call_tool", "name": "describe_resource", "arguments": {"doctype": ITEM}},
		{
			"op": "call_tool",
			"name": "upsert_document",
			"arguments": {**upsert, "idempotency_key": idempotency_key},
		},
		{
			"op": "call_tool",
			"name": "upsert_document",
			"arguments": {**upsert, "idempotency_key": idempotency_key},
		},
		{"op": "call_tool", "name": "upsert_document", "arguments": upsert},
		{
			"op": "call_tool",
			"name": "list_documents",
			"arguments": {"doctype": ITEM, "filters": {"code": code}, "fields": ["code", "qty"]},
		},
		{"op": "call_tool", "name": "get_document", "arguments": {"doctype": ITEM, "key": {"code": code}}},
		{
			"op": "call_tool",
			"name": "bulk_upsert_documents",
			"arguments": {
				"doctype": ITEM,
				"records": [
					{"code": code, "qty": 6},
					{"code": f"{code}-2", "rows": [{"item_code": "A", "qty": 2}]},
				],
			},
		},
		{"op": "call_tool", "name": "list_documents", "arguments": {"doctype": ITEM, "limit": 1}},
		{"op": "call_tool", "name": "list_changes", "arguments": {"doctype": CATEGORY}},
		{
			"op": "call_tool",
			"name": "delete_document",
			"arguments": {"doctype": ITEM, "key": {"code": f"{code}-2"}},
		},
		{"op": "read_resource", "uri": "integration-hub://resource/Hub%20Test%20Item"},
		{"op": "read_resource", "uri": "integration-hub://openapi"},
		{"op": "list_resources"},
		{
			"op": "call_tool",
			"name": "get_document",
			"arguments": {"doctype": ITEM, "key": {"code": "MCP-ALLOWED"}, "expand": ["category"]},
		},
		{
			"op": "call_tool",
			"name": "upsert_document",
			"arguments": {**upsert, "data": {**upsert["data"], "title": "stale", "_version": "0" * 24}},
		},
		{
			"op": "call_tool",
			"name": "delete_document",
			"arguments": {"doctype": ITEM, "key": {"code": code}, "if_match": "0" * 24},
		},
		{
			"op": "call_tool",
			"name": "create_document",
			"arguments": {
				"doctype": ITEM,
				"data": {"code": f"{code}-3"},
				"idempotency_key": str(uuid.uuid4()),
			},
		},
	]
	outcome = sdk("manager", steps)
	tools = tools_of(outcome)
	results = outcome["steps"]
	for step, result in zip(steps[1:], results[1:], strict=True):
		if step["op"] == "call_tool":  # a refusal too: {"error": problem} is valid output
			validate_output(tools[step["name"]], result["result"]["structuredContent"])

	described = structured(results[1])
	assert described["key_fields"] == ["code"] and "cost" not in described["fields"]
	created, replayed, unchanged = (structured(results[i]) for i in (2, 3, 4))
	assert created["status"] == "created" and created["doc"]["qty"] == 5 and "cost" not in created["doc"]
	assert replayed == created, "the same idempotency_key replays the first answer"
	assert unchanged["status"] == "unchanged"
	listed = structured(results[5])["data"]
	assert listed == [{"name": created["name"], "code": code, "qty": 5, "_version": listed[0]["_version"]}]
	assert structured(results[6])["doc"]["title"] == "From an assistant"
	bulk = structured(results[7])["results"]
	assert [r["status"] for r in bulk] == ["updated", "created"]
	page = structured(results[8])
	assert len(page["data"]) == 1 and page["has_more"] is True and page["next_cursor"]
	assert {c["name"] for c in structured(results[9])["changes"]} >= {world.allowed.name}
	assert structured(results[10])["status"] == "deleted"
	assert '"key_fields":["code"]' in results[11]["result"]["contents"][0]["text"]
	assert '"openapi":"3.1.0"' in results[12]["result"]["contents"][0]["text"]
	uris = {r["uri"] for p in results[13]["pages"] for r in p["resources"]}
	assert uris == {
		"integration-hub://openapi",
		"integration-hub://resource/Hub%20Test%20Item",
		"integration-hub://resource/Hub%20Test%20Category",
	}
	assert structured(results[14])["doc"]["category"]["name"] == world.allowed.name, "expanded"
	for stale in (results[15], results[16]):
		current = problem(stale, "PRECONDITION_FAILED")["current"]
		assert current["name"] == created["name"] and current["qty"] == 6, "nothing was written"
	assert structured(results[17])["status"] == "created"
	assert read_committed(f"select qty from `tab{ITEM}` where code = %s", (code,)) == [[6]]
	stored = read_committed(
		"select status, response_status from `tabHub Idempotency Key` where user = %s and idempotency_key = %s",
		(world.manager.name, idempotency_key),
	)
	assert stored == [["Completed", 200]], "stored where the Idempotency-Key header's answers are"


def test_an_idempotency_key_is_shared_with_the_http_api(sdk, http, world):
	code = f"MCPW-{uuid.uuid4().hex[:8]}"
	key = str(uuid.uuid4())
	arguments = {"doctype": ITEM, "data": {"code": code, "title": "Once"}}
	first = sdk(
		"manager",
		[{"op": "call_tool", "name": "upsert_document", "arguments": {**arguments, "idempotency_key": key}}],
	)
	client = http()
	client.headers["Authorization"] = world.tokens["manager"]
	again = client.post(
		"/api/method/integration_hub.api.v1.upsert", json=arguments, headers={"Idempotency-Key": key}
	)
	assert again.headers.get("Idempotent-Replayed") == "true", again.text
	assert again.json()["message"]["name"] == structured(first["steps"][0])["name"]
	other = sdk(
		"manager",
		[
			{
				"op": "call_tool",
				"name": "upsert_document",
				"arguments": {**arguments, "data": {"code": code}, "idempotency_key": key},
			}
		],
	)
	assert problem(other["steps"][0], "IDEMPOTENCY_KEY_REUSED")["errors"][0]["pointer"] == "/idempotency_key"


def test_refusals_are_tool_results_a_model_can_correct(sdk, world):
	steps = [
		{
			"op": "call_tool",
			"name": "upsert_document",
			"arguments": {"doctype": ITEM, "data": {"code": "MCPW-NO"}},
		},
		{"op": "call_tool", "name": "get_document", "arguments": {"doctype": ITEM, "name": "no-such-name"}},
		{"op": "call_tool", "name": "list_documents", "arguments": {"doctype": "User"}},
		{
			"op": "call_tool",
			"name": "list_documents",
			"arguments": {"doctype": ITEM, "filters": {"cost": 42}},
		},
		{"op": "call_tool", "name": "list_documents", "arguments": {"doctype": ITEM, "limit": "many"}},
		{"op": "call_tool", "name": "describe_resource", "arguments": {"doctype": ITEM, "unexpected": 1}},
		{"op": "call_tool", "name": "no_such_tool", "arguments": {}},
	]
	outcome = sdk("read_key", steps)
	results = outcome["steps"]
	problem(results[0], "PERMISSION_DENIED")
	problem(results[1], "NOT_FOUND")
	problem(results[2], "RESOURCE_NOT_EXPOSED")
	assert problem(results[3], "BAD_REQUEST")["errors"][0]["pointer"] == "/filters/cost/0", (
		"cost is permlevel 1"
	)
	assert problem(results[4], "BAD_REQUEST")["errors"][0]["pointer"] == "/limit"
	problem(results[5], "BAD_REQUEST")
	assert results[6]["error"]["code"] == -32602, "an unknown tool is a protocol error"
	assert read_committed(f"select count(*) from `tab{ITEM}` where code = 'MCPW-NO'") == [[0]]

	written = sdk(
		"manager",
		[
			{
				"op": "call_tool",
				"name": "upsert_document",
				"arguments": {"doctype": ITEM, "data": {"code": "MCPW-BAD", "qty": "lots", "computed": "x"}},
			}
		],
	)
	invalid = problem(written["steps"][0], "VALIDATION_FAILED")
	assert {e["pointer"] for e in invalid["errors"]} == {"/data/qty", "/data/computed"}
	assert read_committed(f"select count(*) from `tab{ITEM}` where code = 'MCPW-BAD'") == [[0]]


# --- the HTTP edge ---------------------------------------------------------------------------------


def test_unauthenticated_and_bad_credentials_get_401_with_a_challenge(rpc, http, sdk):
	for authorization in (None, "token nobody:nothing", "Bearer ihk_nope_nothing"):
		client = http()
		if authorization:
			client.headers["Authorization"] = authorization
		response = client.post(
			MCP, json={"jsonrpc": "2.0", "id": 7, "method": "tools/list"}, headers=JSON_HEADERS
		)
		assert response.status_code == 401, (authorization, response.text)
		assert response.headers["WWW-Authenticate"].startswith('Bearer realm="integration_hub"')
		body = response.json()
		assert body["id"] == 7 and body["error"]["data"]["code"] == "NOT_AUTHENTICATED", body
		assert "Traceback" not in response.text
	outcome = sdk(None, [{"op": "list_tools"}], authorization="Bearer ihk_nope_nothing")
	assert "connect_error" in outcome or "error" in outcome["steps"][0], outcome


def test_malformed_json_rpc_gets_json_rpc_errors(rpc, http, world):
	client = http()
	client.headers["Authorization"] = world.tokens["manager"]
	not_json = client.post(MCP, data="{nope", headers=JSON_HEADERS)
	assert not_json.status_code == 400 and not_json.json()["error"]["code"] == -32700, not_json.text
	batch = rpc("manager", None, body=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
	assert batch.status_code == 400 and batch.json()["error"]["code"] == -32600
	for body in (
		{"jsonrpc": "1.0", "id": 1, "method": "ping"},
		{"jsonrpc": "2.0", "id": True, "method": "ping"},
	):
		response = rpc("manager", None, body=body)
		assert response.status_code == 400 and response.json()["error"]["code"] == -32600, body
	params = rpc("manager", None, body={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]})
	assert params.json()["error"]["code"] == -32600
	arguments = rpc("manager", "tools/call", {"name": "list_documents", "arguments": "doctype=x"})
	assert arguments.status_code == 200 and arguments.json()["error"]["code"] == -32602
	unknown = rpc("manager", "prompts/list", {})
	assert unknown.status_code == 200 and unknown.json()["error"]["code"] == -32601
	assert rpc("manager", "ping", {}).json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
	stream = client.get(MCP, headers={"Accept": "text/event-stream"})
	assert stream.status_code == 405 and stream.headers["Allow"] == "POST"
	unacceptable = client.post(
		MCP, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Accept": "text/html"}
	)
	assert unacceptable.status_code == 406
	deep = {"a": 1}
	for _ in range(40):
		deep = {"a": deep}
	too_deep = rpc(
		"manager", "tools/call", {"name": "upsert_document", "arguments": {"doctype": ITEM, "data": deep}}
	)
	assert too_deep.status_code == 400 and too_deep.json()["error"]["data"]["code"] == "BAD_REQUEST", (
		too_deep.text
	)
	# Past Python's recursion limit Frappe cannot even parse the body: still a 400, never a 500.
	nested = "[" * 1_200 + "]" * 1_200
	arguments = '{"doctype": "' + ITEM + '", "data": {"title": ' + nested + "}}"
	body = '{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "upsert_document", "arguments": '
	deepest = client.post(MCP, data=body + arguments + "}}", headers=JSON_HEADERS)
	assert deepest.status_code == 400 and "nested" in deepest.json()["error"]["message"], deepest.text


def test_rate_limit_applies_as_on_the_api(http, world, committed):
	key = committed.track(
		HubAPIKeyFactory(
			user=world.keyholder.name, rate_limit_per_minute=2, scopes=[{"resource": ITEM, "allow_read": 1}]
		)
	)
	committed.commit()
	client = http()
	client.headers["Authorization"] = f"Bearer {key.flags.plain_token}"
	ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
	responses = [client.post(MCP, json=ping, headers=JSON_HEADERS) for _ in range(3)]
	assert [r.status_code for r in responses] == [200, 200, 429]
	assert responses[2].headers["Retry-After"]
	assert responses[2].json()["error"]["data"]["code"] == "RATE_LIMITED"


def test_a_revoked_key_is_refused_on_the_next_call(sdk, rpc, world, committed):
	assert rpc("read_key", "tools/list", {}).status_code == 200
	frappe.db.set_value("Hub API Key", world.read_key.name, "enabled", 0)
	committed.commit()
	committed.on_cleanup(lambda: frappe.db.set_value("Hub API Key", world.read_key.name, "enabled", 1))
	refused = rpc("read_key", "tools/list", {})
	assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
	assert "disabled" in refused.json()["error"]["message"]
	outcome = sdk("read_key", [{"op": "list_tools"}])
	assert "connect_error" in outcome or "error" in outcome["steps"][0], outcome


def test_mcp_traffic_keeps_an_api_only_site_awake(rpc, world, committed, monkeypatch):
	from frappe.utils.scheduler import is_dormant

	from integration_hub.security.limits import API_ACTIVITY_CACHE_KEY

	frappe.db.delete("Activity Log")
	make_site_dormant(monkeypatch)
	frappe.cache.delete_value(API_ACTIVITY_CACHE_KEY)
	committed.commit()
	assert is_dormant(), "a site without activity is dormant to Frappe's scheduler"
	assert rpc("read_key", "ping", {}).status_code == 200
	assert_activity_recorded("API traffic", world.read_key.user)
	assert not is_dormant()


def test_the_list_tool_filters_on_a_child_table(sdk, world, committed):
	code = f"MCP-CHILD-{frappe.generate_hash(length=6)}"
	committed.track(ItemFactory(code=code, rows=[{"item_code": f"{code}-ROW", "qty": 1}] * 2))
	committed.track(ItemFactory(code=f"{code}-OTHER", rows=[{"item_code": "ELSEWHERE", "qty": 1}]))
	committed.commit()
	steps = [
		{"op": "list_tools"},
		*(
			{"op": "call_tool", "name": "list_documents", "arguments": {"doctype": ITEM, "filters": filters}}
			for filters in (
				{"rows.item_code": f"{code}-ROW"},
				[["rows", "item_code", "=", f"{code}-ROW"]],
				[["rows", "qty", "~", 1]],
			)
		),
	]
	outcome = sdk("manager", steps)
	tools = tools_of(outcome)
	by_object, by_list, refused = outcome["steps"][1:]
	for step in (by_object, by_list):
		validate_output(tools["list_documents"], structured(step))
		assert [row["code"] for row in structured(step)["data"]] == [code], "the item once, for its two rows"
	assert problem(refused, "BAD_REQUEST")["errors"][0]["pointer"] == "/filters/0/2"


def test_an_assistant_submits_where_it_may_and_is_refused_where_not(sdk, world, committed):
	committed.track(
		HubResourceFactory(document_type=INVOICE, key_fields="customer_name", allow_submit=1, allow_cancel=1)
	)
	customer = f"MCP Invoice {frappe.generate_hash(length=6)}"
	committed.on_cleanup(lambda: _remove_invoices(customer))
	committed.commit()
	create = {
		"op": "call_tool",
		"name": "create_document",
		"arguments": {"doctype": INVOICE, "data": {"customer_name": customer, "amount": 10}, "submit": True},
	}
	outcome = sdk("manager", [{"op": "list_tools"}, DESCRIBE_ALL, create])
	tools = tools_of(outcome)
	assert {"submit_document", "cancel_document", "amend_document"} <= set(tools)
	assert {"submit", "cancel"} <= set(your_resources(outcome)[INVOICE])
	assert "submit" not in your_resources(outcome)[ITEM], "only submittable resources"
	created = structured(outcome["steps"][2])
	validate_output(tools["create_document"], created)
	assert created["doc"]["docstatus"] == 1

	submit = {
		"op": "call_tool",
		"name": "submit_document",
		"arguments": {"doctype": INVOICE, "name": created["name"]},
	}
	refused = sdk("read_key", [{"op": "list_tools"}, submit])
	assert "submit_document" not in tools_of(refused), "a key without the scope sees no such tool"
	problem(refused["steps"][1], "PERMISSION_DENIED")


def _remove_invoices(customer: str) -> None:
	for name in frappe.get_all(INVOICE, filters={"customer_name": customer}, pluck="name"):
		frappe.db.delete(INVOICE, name)
		frappe.db.delete("Hub Test Item Row", {"parent": name})

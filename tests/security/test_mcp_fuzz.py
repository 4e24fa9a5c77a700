"""Property-based tests of the MCP endpoint: arbitrary tool names and arguments (strings, numbers, nested
JSON, SQL fragments, idempotency keys) in `tools/call`, over real HTTP. The answer is always a JSON-RPC
response below 500: a tool result (isError for what the API refuses) or a protocol error, never a
traceback; and nothing is written, because no write can form a valid record (the arguments never carry
the key field, see test_fuzz.py)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import frappe
from frappe.installer import update_site_config

from integration_hub.api.mcp.tools import IDEMPOTENCY_ARGUMENT, TOOLS
from tests.factories import HubResourceFactory, ItemFactory, UserFactory, issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.security.test_fuzz import arguments, database_state, records_without_key

MCP = "/api/method/integration_hub.api.mcp"
EXAMPLES = 150
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

TOOL_ARGUMENTS = {
	"describe_resource": {"doctype": st.just(ITEM) | arguments},
	"list_documents": {
		"doctype": st.just(ITEM) | arguments,
		"fields": arguments,
		"filters": arguments,
		"order_by": arguments,
		"limit": arguments,
		"cursor": arguments,
	},
	"get_document": {"doctype": st.just(ITEM) | arguments, "name": arguments, "key": arguments},
	"upsert_document": {
		"doctype": st.just(ITEM) | arguments,
		"data": records_without_key | arguments,
		"key": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"bulk_upsert_documents": {
		"doctype": st.just(ITEM) | arguments,
		"records": st.lists(records_without_key | arguments, max_size=4) | arguments,
		"atomic": arguments,
		"key": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"delete_document": {
		"doctype": st.just(ITEM) | arguments,
		"name": arguments,
		"key": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"list_changes": {"doctype": st.just(ITEM) | arguments, "cursor": arguments, "limit": arguments},
}


def test_the_fuzzed_tools_are_all_the_tools():
	assert set(TOOL_ARGUMENTS) == set(TOOLS)


@pytest.fixture
def mcp_client(committed, http):
	committed.track(HubResourceFactory())
	for code in ("FUZZ-KEEP-1", "FUZZ-KEEP-2"):
		committed.track(ItemFactory(code=code, title="Fuzz", qty=1))
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	token = issue_api_token(editor)
	update_site_config("integration_hub_rate_limit_per_minute", 1_000_000)
	committed.commit()
	committed.on_cleanup(lambda: update_site_config("integration_hub_rate_limit_per_minute", None))
	committed.on_cleanup(lambda: frappe.db.delete("Hub Idempotency Key", {"user": editor.name}))
	return http(token)


@pytest.mark.parametrize("tool", sorted(TOOL_ARGUMENTS))
def test_arbitrary_tool_arguments_never_break_the_endpoint(mcp_client, tool):
	before = database_state()

	@settings(
		max_examples=EXAMPLES,
		deadline=None,
		database=None,
		suppress_health_check=[
			HealthCheck.function_scoped_fixture,
			HealthCheck.too_slow,
			HealthCheck.data_too_large,
		],
	)
	@given(
		st.fixed_dictionaries({}, optional={**TOOL_ARGUMENTS[tool], "unexpected": arguments}),
		st.just(tool) | st.text(max_size=30),
	)
	def check(sent: dict, name: str):
		message = {
			"jsonrpc": "2.0",
			"id": 1,
			"method": "tools/call",
			"params": {"name": name, "arguments": sent},
		}
		response = mcp_client.post(MCP, json=message, headers=HEADERS)
		assert response.status_code < 500, (sent, response.status_code, response.text[:500])
		assert "Traceback" not in response.text
		body = response.json()
		assert body["jsonrpc"] == "2.0" and body["id"] in (1, None), body
		if response.status_code != 200 or "error" in body:
			assert isinstance(body["error"]["code"], int) and body["error"]["message"], body
			assert name not in TOOLS or response.status_code == 400, "only a known tool is ever run"
			return
		result = body["result"]
		assert result["content"][0]["type"] == "text"
		if result["isError"]:
			error = result["structuredContent"]["error"]
			assert error["status"] < 500 and error["code"].isupper(), error
		elif name == "bulk_upsert_documents":  # an empty batch is valid and writes nothing
			assert all(r["status"] == "failed" for r in result["structuredContent"]["results"]), sent
		else:
			assert TOOLS[name].read_only, f"a write succeeded with {sent}"

	check()
	assert database_state()[:2] == before[:2], "a refused call changed documents or the change feed"

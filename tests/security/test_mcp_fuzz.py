"""Property-based tests of the MCP endpoint: arbitrary tool names and arguments (strings, numbers, nested
JSON, SQL fragments, idempotency keys) in `tools/call`, over real HTTP. The answer is always a JSON-RPC
response below 500: a tool result (isError for what the API refuses) or a protocol error, never a
traceback; and nothing is written, because no write can form a valid record (the arguments never carry
the key field, see test_fuzz.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration_hub.api.mcp.tools import IDEMPOTENCY_ARGUMENT, TOOLS
from tests.fixtures_doctypes import ITEM
from tests.security.test_fuzz import arguments, database_state, fuzz_settings, records_without_key

MCP = "/api/method/integration_hub.api.mcp"
EXAMPLES = 150
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

TOOL_ARGUMENTS = {
	"describe_resource": {
		"doctype": st.just(ITEM) | arguments,
		"fields": arguments,
		"all_fields": arguments,
		"method": arguments,
		"report": arguments,
	},
	"call_method": {
		"method": arguments,
		"args": arguments,
		"save": arguments,
		"submit": arguments,
		"data": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"run_report": {"report": arguments, "filters": arguments, "limit": arguments, "cursor": arguments},
	"list_documents": {
		"doctype": st.just(ITEM) | arguments,
		"fields": arguments,
		"filters": arguments,
		"order_by": arguments,
		"limit": arguments,
		"cursor": arguments,
		"expand": arguments,
	},
	"get_document": {
		"doctype": st.just(ITEM) | arguments,
		"name": arguments,
		"key": arguments,
		"expand": arguments,
	},
	"upsert_document": {
		"doctype": st.just(ITEM) | arguments,
		"data": records_without_key | arguments,
		"key": arguments,
		"submit": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"create_document": {
		"doctype": st.just(ITEM) | arguments,
		"data": records_without_key | arguments,
		"submit": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"bulk_upsert_documents": {
		"doctype": st.just(ITEM) | arguments,
		"records": st.lists(records_without_key | arguments, max_size=4) | arguments,
		"atomic": arguments,
		"key": arguments,
		"mode": arguments,
		"submit": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"delete_document": {
		"doctype": st.just(ITEM) | arguments,
		"name": arguments,
		"key": arguments,
		"if_match": arguments,
		IDEMPOTENCY_ARGUMENT: arguments,
	},
	"list_changes": {
		"doctype": st.just(ITEM) | arguments,
		"cursor": arguments,
		"limit": arguments,
		"expand": arguments,
	},
	**{
		tool: {
			"doctype": st.just(ITEM) | arguments,
			"name": arguments,
			"key": arguments,
			"if_match": arguments,
			IDEMPOTENCY_ARGUMENT: arguments,
			**(
				{"data": records_without_key | arguments, "submit": arguments}
				if tool == "amend_document"
				else {}
			),
		}
		for tool in ("submit_document", "cancel_document", "amend_document")
	},
}


def test_the_fuzzed_tools_are_all_the_tools():
	assert set(TOOL_ARGUMENTS) == set(TOOLS)


@pytest.mark.parametrize("tool", sorted(TOOL_ARGUMENTS))
def test_arbitrary_tool_arguments_never_break_the_endpoint(fuzz_client, tool):
	before = database_state()

	@fuzz_settings(EXAMPLES)
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
		response = fuzz_client.post(MCP, json=message, headers=HEADERS)
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

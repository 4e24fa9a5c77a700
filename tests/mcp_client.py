"""An MCP client made of the official MCP Python SDK (`mcp` on PyPI) and nothing of ours, for the tests
and the benchmark. It runs with the SDK's own virtualenv (see tests/mcp_sdk.py), never with the
bench's Python, whose pydantic is too old for the SDK:

	.venv/bin/python tests/mcp_client.py < scenario.json > outcome.json

The scenario is JSON: {"url", "headers", "mode", "steps": [...]}. `mode` is the SDK's: "auto" (probe
`server/discover`, the 2026-07-28 way, and fall back to `initialize`), "legacy" (the `initialize`
handshake) or a pinned modern revision ("2026-07-28"). A step is one of
	{"op": "list_tools"}                          every page, following nextCursor
	{"op": "call_tool", "name": ..., "arguments": {...}}
	{"op": "list_resources"} / {"op": "read_resource", "uri": ...}
	{"op": "time_call_tool", "name": ..., "arguments": {...}, "repeat": N}   seconds of each call
The outcome is JSON: the negotiated protocol version, the server's info and one entry per step (the
SDK's result, dumped as on the wire, or the error it raised). The SDK validates every successful tool
result against the tool's outputSchema itself, and raises if it does not conform.
"""

import asyncio
import json
import sys
import time

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client


def dump(model) -> object:
	return model.model_dump(mode="json", by_alias=True, exclude_none=True) if model is not None else None


async def list_all(fetch) -> list[dict]:
	pages, cursor = [], None
	while True:
		page = await fetch(cursor=cursor, cache_mode="refresh")
		pages.append(dump(page))
		cursor = page.next_cursor
		if cursor is None or len(pages) > 100:
			return pages


async def run_step(client: Client, step: dict) -> dict:
	op = step["op"]
	try:
		if op == "list_tools":
			return {"pages": await list_all(client.list_tools)}
		if op == "list_resources":
			return {"pages": await list_all(client.list_resources)}
		if op == "read_resource":
			return {"result": dump(await client.read_resource(step["uri"], cache_mode="refresh"))}
		if op == "call_tool":
			return {"result": dump(await client.call_tool(step["name"], step.get("arguments")))}
		if op == "time_call_tool":
			seconds = []
			for _ in range(step["repeat"]):
				start = time.perf_counter()
				result = await client.call_tool(step["name"], step.get("arguments"))
				seconds.append(time.perf_counter() - start)
				if result.is_error:
					return {"result": dump(result)}
			return {"seconds": seconds}
	except MCPError as e:
		return {
			"error": {
				"type": "MCPError",
				"code": e.error.code,
				"message": e.error.message,
				"data": e.error.data,
			}
		}
	except Exception as e:
		return {"error": {"type": type(e).__name__, "message": str(e)}}
	raise ValueError(f"unknown step {op!r}")


async def run(scenario: dict) -> dict:
	outcome: dict = {"steps": []}
	async with httpx2.AsyncClient(headers=scenario.get("headers") or {}, timeout=120) as http:
		transport = streamable_http_client(scenario["url"], http_client=http)
		try:
			async with Client(transport, mode=scenario.get("mode", "auto")) as client:
				outcome["protocol_version"] = client.protocol_version
				outcome["server_info"] = dump(client.server_info)
				outcome["instructions"] = client.instructions
				for step in scenario["steps"]:
					outcome["steps"].append(await run_step(client, step))
		except Exception as e:
			outcome["connect_error"] = {"type": type(e).__name__, "message": repr(e)[:2000]}
	return outcome


if __name__ == "__main__":
	json.dump(asyncio.run(run(json.load(sys.stdin))), sys.stdout)

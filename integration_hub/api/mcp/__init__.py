"""The Model Context Protocol face of the document API: `POST /api/method/integration_hub.api.mcp`.

An MCP client (an AI assistant) sees the hub's document API as a few tools and resources. Each tool
call runs the same `api.v1` function an HTTP client calls, under the same authentication, key scopes,
Frappe permissions, field shaping, idempotency, rate and input limits; only the envelope differs.

endpoint.py   the HTTP edge: authentication, Streamable HTTP rules, the transaction
protocol.py   JSON-RPC 2.0 messages, protocol revisions, method dispatch
tools.py      the tools: what this caller may call, their schemas, and the calls
resources.py  each resource's description and the caller's OpenAPI document, as MCP resources
"""

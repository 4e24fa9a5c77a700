"""The addresses of the hub's API, in one place: the versioned document API and its MCP face (the same
on this site and on a remote one that runs the app)."""

import frappe

API_METHOD = "integration_hub.api.v1"
API_BASE = f"/api/method/{API_METHOD}"
API_PATH_PREFIX = f"{API_BASE}."
MCP_PATH = "/api/method/integration_hub.api.mcp"
MCP_ENDPOINT = "mcp"


def api_endpoint_name(path: str) -> str | None:
	"""The endpoint a request path calls (`upsert`, or `mcp` for the MCP face), None off the API."""
	if path == MCP_PATH:
		return MCP_ENDPOINT
	if path.startswith(API_PATH_PREFIX):
		return path[len(API_PATH_PREFIX) :]
	return None


def is_api_request() -> bool:
	"""Whether the request being served calls the document API or its MCP face."""
	request = getattr(frappe.local, "request", None)
	return request is not None and api_endpoint_name(request.path) is not None

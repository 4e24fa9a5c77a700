"""MCP resources: each exposed resource's description (fields, key, the caller's operations) and the
caller's OpenAPI document, read through the same `api.v1` functions as over HTTP."""

import json
from urllib.parse import quote, unquote

import frappe

from integration_hub.api import v1
from integration_hub.api.errors import response_json
from integration_hub.api.mcp.caller import caller_view
from integration_hub.api.mcp.protocol import INVALID_PARAMS, RESOURCE_NOT_FOUND, Call, RpcError, page

RESOURCE_URI = "integration-hub://resource/"
OPENAPI_URI = "integration-hub://openapi"
JSON = "application/json"


def resource_uri(doctype: str) -> str:
	return RESOURCE_URI + quote(doctype, safe="")


def list_resources(call: Call, page_size: int) -> dict:
	view = caller_view()
	listed = [
		{
			"uri": OPENAPI_URI,
			"name": "openapi",
			"title": "OpenAPI document",
			"description": "The OpenAPI 3.1 document of this hub's API, with the resources you may read",
			"mimeType": JSON,
		}
	]
	listed += [
		{
			"uri": resource_uri(doctype),
			"name": doctype,
			"title": f"{doctype}: fields and operations",
			"description": f"The key fields of {doctype}, the operations you may perform on it and the "
			"fields you may read and write",
			"mimeType": JSON,
		}
		for doctype in view.doctypes(frozenset({"read"}))
	]
	items, next_cursor = page(listed, call.params, "resources", frappe.session.user, page_size)
	return {"resources": items, **({"nextCursor": next_cursor} if next_cursor else {})}


def list_templates(call: Call) -> dict:
	return {
		"resourceTemplates": [
			{
				"uriTemplate": RESOURCE_URI + "{doctype}",
				"name": "resource",
				"title": "A resource's fields and operations",
				"mimeType": JSON,
			}
		]
	}


def read_resource(call: Call) -> dict:
	uri = call.params.get("uri")
	if not isinstance(uri, str):
		raise RpcError(INVALID_PARAMS, "uri must be a string")
	if uri == OPENAPI_URI:
		result = v1.openapi()
	elif uri.startswith(RESOURCE_URI):
		result = v1.describe(doctype=unquote(uri[len(RESOURCE_URI) :]))
	else:
		result = None
	if not isinstance(result, dict):  # a problem: not exposed, or not for this caller
		detail = json.loads(result.get_data(as_text=True)).get("detail") if result is not None else None
		raise RpcError(
			INVALID_PARAMS if call.modern else RESOURCE_NOT_FOUND,
			"Resource not found",
			{"uri": uri[:300], **({"detail": detail} if detail else {})},
		)
	return {"contents": [{"uri": uri, "mimeType": JSON, "text": response_json(result)}]}

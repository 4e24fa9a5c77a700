"""MCP resources: each exposed resource's description (describe.py: fields, key, the caller's
operations, as `describe_resource` answers) and the caller's OpenAPI document (as `api.v1` answers)."""

import json
from urllib.parse import quote, unquote

from werkzeug.wrappers import Response

import frappe

from integration_hub.api import v1
from integration_hub.api.errors import response_json
from integration_hub.api.mcp.caller import caller_view
from integration_hub.api.mcp.describe import describe
from integration_hub.api.mcp.protocol import INVALID_PARAMS, RESOURCE_NOT_FOUND, Call, RpcError, page
from integration_hub.exceptions import HubError

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
			"description": f"The key fields of {doctype}, the operations you may perform on it and its "
			"usual fields (describe_resource gives the others)",
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
	result, detail = None, None
	if uri == OPENAPI_URI:
		result = v1.openapi()
	elif uri.startswith(RESOURCE_URI):
		try:
			result = describe(doctype=unquote(uri[len(RESOURCE_URI) :]))
		except (HubError, frappe.PermissionError) as e:
			detail = str(e)
	if isinstance(result, Response):
		detail, result = json.loads(result.get_data(as_text=True)).get("detail"), None
	if result is None:  # not exposed, or not for this caller
		raise RpcError(
			INVALID_PARAMS if call.modern else RESOURCE_NOT_FOUND,
			"Resource not found",
			{"uri": uri[:300], **({"detail": detail} if detail else {})},
		)
	return {"contents": [{"uri": uri, "mimeType": JSON, "text": response_json(result)}]}

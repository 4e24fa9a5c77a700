"""The MCP endpoint over Streamable HTTP: `POST /api/method/integration_hub.api.mcp` (an alias in
hooks.py), one JSON-RPC message per POST, answered with `application/json`; no server-held session, so
`GET` (a server-to-client stream) is 405.

The request is the edge that owns the transaction: Frappe commits a POST at its end; a failed tool call
has been rolled back by the API endpoint it ran (see tools.py). Authentication, key scopes, rate limits,
input limits and site activity run before this function, in the hooks the API uses; what they refuse
is rendered here as a JSON-RPC error (`render_framework_errors`).
"""

import json

from werkzeug.wrappers import Response

import frappe
from frappe import _

from integration_hub.api.errors import challenge_headers, framework_problem, response_json
from integration_hub.api.mcp import protocol, resources, tools
from integration_hub.api.mcp.protocol import (
	INTERNAL_ERROR,
	INVALID_REQUEST,
	PARSE_ERROR,
	REFUSED,
	RpcError,
	error_response,
	request_id,
)
from integration_hub.exceptions import InsufficientScope, Problem, authentication_hint, problem_from_exception
from integration_hub.paths import MCP_PATH
from integration_hub.request_id import labelled

ANSWERED_FLAG = "integration_hub_mcp_answered"
PAGE_SIZE_CONFIG = "integration_hub_mcp_page_size"


def _page_size() -> int:
	return int(frappe.conf.get(PAGE_SIZE_CONFIG) or protocol.DEFAULT_PAGE_SIZE)


HANDLERS = {
	"initialize": protocol.initialize_result,
	"server/discover": protocol.discover_result,
	"ping": lambda call: {},
	"tools/list": lambda call: tools.list_tools(call, _page_size()),
	"tools/call": tools.call_tool,
	"resources/list": lambda call: resources.list_resources(call, _page_size()),
	"resources/templates/list": resources.list_templates,
	"resources/read": resources.read_resource,
}


@frappe.whitelist(allow_guest=True, methods=["GET", "POST", "DELETE"])
def handle() -> Response:
	"""Guests are let in only to be told how to authenticate (401 with WWW-Authenticate), which Frappe's
	own refusal (403, no challenge) would not say."""
	frappe.local.flags[ANSWERED_FLAG] = True
	if frappe.session.user in (None, "", "Guest"):
		return _refusal(Problem(401, "NOT_AUTHENTICATED", "Not authenticated", authentication_hint()))
	if frappe.request.method != "POST":
		return Response(status=405, headers={"Allow": "POST"})
	refused = _transport_refusal()
	if refused is not None:
		return refused
	try:
		message = json.loads(frappe.request.get_data(as_text=True))
	except ValueError:
		return _json_rpc(
			400, error_response(None, RpcError(PARSE_ERROR, "Parse error: the body is not JSON"))
		)
	if protocol.is_notification(message):
		return Response(status=202)
	try:
		call = protocol.parse_call(message, frappe.request.headers)
		if call.method == "tools/call":
			tools.require_scope(call.params.get("name"))
		status, body = protocol.answer(call, HANDLERS)
	except InsufficientScope as e:  # an HTTP 403, so that the client asks the user for more
		return _refusal(problem_from_exception(e))
	except RpcError as e:
		status, body = protocol.error_status(e, modern=False), error_response(request_id(message), e)
	except Exception:
		frappe.db.rollback()
		frappe.log_error(title=labelled("integration_hub MCP: internal error"))
		error = RpcError(INTERNAL_ERROR, "The server could not complete the request; it has been logged.")
		status, body = 500, error_response(request_id(message), error)
	return _json_rpc(status, body)


def _transport_refusal() -> Response | None:
	"""Streamable HTTP's rules for a POST: JSON in, JSON acceptable out, and no cross-site browser calls."""
	request = frappe.request
	origin = request.headers.get("Origin")
	if origin and origin.split("://", 1)[-1].rstrip("/") != request.host:
		return _refusal(
			Problem(403, "PERMISSION_DENIED", "Forbidden", _("Cross-origin requests are refused"))
		)
	accept = request.headers.get("Accept") or "*/*"
	if not any(kind in accept for kind in ("application/json", "application/*", "*/*")):
		return _json_rpc(
			406, error_response(None, RpcError(INVALID_REQUEST, "Accept must include application/json"))
		)
	if not request.is_json:
		return _json_rpc(
			415, error_response(None, RpcError(INVALID_REQUEST, "Content-Type must be application/json"))
		)
	for header, message in HEADERS_AS_ARGUMENTS.items():
		if request.headers.get(header) is not None:
			return _json_rpc(400, error_response(None, RpcError(INVALID_REQUEST, message)))
	return None


# What an HTTP client of the API sends as headers, a tool call sends as arguments: a header on the MCP
# request would apply to every call it carries.
HEADERS_AS_ARGUMENTS = {
	"Idempotency-Key": "Pass an idempotency key as the idempotency_key argument of a write tool, not as a header",
	"If-Match": "Pass an expected version as _version in a record, or as the if_match argument of "
	"delete_document, not as a header",
	"If-None-Match": "Tool results are not cached: send no If-None-Match",
}


def _json_rpc(status: int, body: dict) -> Response:
	return Response(response_json(body), status=status, mimetype="application/json")


def _refusal(problem: Problem, headers: dict | None = None) -> Response:
	"""A refusal by the hub's policy (authentication, limits) as a JSON-RPC error carrying the problem."""
	code = INVALID_REQUEST if problem.status in (400, 413, 422) else REFUSED
	if problem.exc_type == "JSONDecodeError":
		code = PARSE_ERROR
	status = 400 if problem.status == 422 else problem.status  # Frappe's: the body is no argument object
	body = error_response(_body_id(), RpcError(code, problem.detail or problem.title, problem.as_dict()))
	response = _json_rpc(status, body)
	for name, value in {**(headers or {}), **challenge_headers(problem)}.items():
		response.headers[name] = value
	return response


def _body_id() -> str | int | None:
	return request_id(getattr(frappe.local, "form_dict", None))


def render_framework_errors(response: Response | None = None, request=None) -> None:
	"""after_request hook: what Frappe or the API's request hooks refused on the MCP path before the
	endpoint ran (bad credentials, a disabled key, the rate limit, input limits, a malformed body)
	becomes a JSON-RPC error with the same status; a 401 says how to authenticate."""
	if response is None or request is None or request.path != MCP_PATH or response.status_code < 400:
		return
	if frappe.local.flags.get(ANSWERED_FLAG):
		return
	problem, headers = framework_problem(response)
	rendered = _refusal(problem, headers)
	response.set_data(rendered.get_data())
	response.status_code = rendered.status_code
	response.mimetype = "application/json"
	for name, value in rendered.headers.items():
		if name.lower() in ("www-authenticate", "retry-after"):
			response.headers[name] = value

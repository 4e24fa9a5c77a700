"""The API's error answers: `application/problem+json` (RFC 9457) for every error of `api.v1`.

Endpoint errors are rendered by `api.endpoint`; errors raised by Frappe before an endpoint runs
(authentication, argument types, malformed JSON, an unknown method) are rewritten here, in an
`after_request` hook, so a client of this API never sees Frappe's HTML pages or a traceback.
"""

import json

from werkzeug.wrappers import Response

import frappe
from frappe.utils.response import json_handler

from integration_hub.exceptions import (
	FRAMEWORK_ERRORS,
	INTERNAL_ERROR,
	BadRequest,
	InsufficientScope,
	Problem,
	authentication_hint,
	problem_from_exception,
)
from integration_hub.paths import API_PATH_PREFIX
from integration_hub.request_id import labelled
from integration_hub.security.limits import body_nesting_problem
from integration_hub.security.oauth.metadata import www_authenticate

PROBLEM_JSON = "application/problem+json"


def response_json(data: object) -> str:
	"""A response body as Frappe writes its own: compact, keys in the order given."""
	return json.dumps(data, default=json_handler, separators=(",", ":"))


def problem_response(problem: Problem, headers: dict | None = None) -> Response:
	response = Response(response_json(problem.as_dict()), status=problem.status, mimetype=PROBLEM_JSON)
	for name, value in (headers or {}).items():
		response.headers[name] = value
	return response


def response_for_exception(exc: BaseException) -> Response:
	problem = problem_from_exception(exc)
	if problem.status >= 500:
		frappe.log_error(title=labelled(f"integration_hub API: {type(exc).__name__}"))
	headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else {}
	return problem_response(problem, {**headers, **challenge_headers(problem)})


def challenge_headers(problem: Problem) -> dict:
	"""How to authenticate, on a 401; which scope is missing, on a 403 for an OAuth token's scope."""
	if getattr(frappe.local, "request", None) is None:  # a job or the console: nobody to challenge
		return {}
	if problem.status == 401:
		sent = bool(frappe.get_request_header("Authorization"))
		return {"WWW-Authenticate": www_authenticate(credentials_sent=sent)}
	if problem.code == InsufficientScope.code:
		scope = problem.extensions.get("required_scope")
		return {"WWW-Authenticate": www_authenticate(credentials_sent=True, required_scope=scope)}
	return {}


def render_framework_errors(response: Response | None = None, request=None) -> None:
	"""after_request hook: turn Frappe's own error bodies on our API paths into problem+json."""
	if response is None or request is None or not request.path.startswith(API_PATH_PREFIX):
		return
	if response.status_code < 400 or response.mimetype == PROBLEM_JSON:
		return
	problem, headers = framework_problem(response)
	for name, value in headers.items():
		response.headers[name] = value
	response.set_data(response_json(problem.as_dict()))
	response.status_code = problem.status
	response.mimetype = PROBLEM_JSON


def framework_problem(response: Response) -> tuple[Problem, dict]:
	"""The problem behind an error answer Frappe wrote itself, and the headers it needs (the MCP
	endpoint renders the same problems as JSON-RPC errors)."""
	remembered = frappe.local.flags.get("integration_hub_problem")  # raised by one of our request hooks
	if remembered is None and response.status_code >= 500:
		remembered = _unparsable_body(frappe.local.request)
	if remembered is None:
		problem = _problem_from_frappe_response(response.status_code)
		return problem, challenge_headers(problem)
	retry_after = getattr(remembered, "retry_after", None)
	problem = problem_from_exception(remembered)
	headers = {"Retry-After": str(retry_after)} if retry_after else {}
	return problem, {**headers, **challenge_headers(problem)}


def _unparsable_body(request) -> BadRequest | None:
	"""Frappe parses a JSON body before any hook of ours runs, and answers 500 to one it cannot parse
	(past about a thousand levels, Python's json runs out of stack): that is the client's error."""
	problem = body_nesting_problem(request)
	return BadRequest(problem, [{"pointer": "", "detail": problem}]) if problem else None


def _problem_from_frappe_response(status: int) -> Problem:
	local_response = getattr(frappe.local, "response", None) or {}
	exc_type = local_response.get("exc_type") or ""
	status, code, title = FRAMEWORK_ERRORS.get(exc_type) or _by_status(status)
	guest_refused = status == 403 and frappe.session.user in (None, "", "Guest")
	if guest_refused:
		status, code, title = 401, "NOT_AUTHENTICATED", "Not authenticated"
	detail = title if status >= 500 else (_first_server_message(local_response) or title)
	if status == 401 and (guest_refused or detail == title):
		detail = authentication_hint()  # Frappe's own text says nothing useful ("not whitelisted", or none)
	return Problem(status, code, title, detail, [], exc_type)


def _by_status(status: int) -> tuple[int, str, str]:
	for known in FRAMEWORK_ERRORS.values():
		if known[0] == status:
			return known
	return (status, "BAD_REQUEST", "Bad request") if 400 <= status < 500 else INTERNAL_ERROR


def _first_server_message(local_response: dict) -> str:
	from frappe.utils import strip_html_tags

	try:
		messages = json.loads(local_response.get("_server_messages") or "[]")
		first = json.loads(messages[0]) if messages else {}
		return strip_html_tags(first.get("message", "")).strip()[:1000]
	except (ValueError, TypeError, AttributeError, IndexError):
		return ""

"""The MCP tools: one per operation of the document API, each with a `doctype` argument; a tool is
listed when the caller may use it on at least one resource (exposure ∩ scopes ∩ Frappe permissions).

Eleven tools whatever the number of exposed DocTypes, so a model chooses among operations it knows
("list", "upsert") rather than among hundreds of near-identical names. Their schemas are the same for
every resource (tool_schemas.py): what each resource holds comes from `describe_resource`. A call runs
the `api.v1` function an HTTP client calls, so reads, writes, permissions, field shaping and errors are
the API's own; a refusal comes back as the API's problem, in a result with `isError`.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Response

import frappe
from frappe import _

from integration_hub.api import v1
from integration_hub.api.errors import response_for_exception, response_json
from integration_hub.api.mcp import describe, tool_schemas
from integration_hub.api.mcp.caller import CallerView, caller_view
from integration_hub.api.mcp.protocol import INVALID_PARAMS, Call, RpcError, page
from integration_hub.api.mcp.tool_schemas import IDEMPOTENCY_ARGUMENT
from integration_hub.documents import idempotency
from integration_hub.documents.exposure import exposure_fingerprint
from integration_hub.exceptions import BadRequest
from integration_hub.methods.calling import callable_methods
from integration_hub.reports.running import runnable_reports
from integration_hub.security.api_keys import current_key
from integration_hub.security.oauth import scopes

# --- the tools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
	name: str
	title: str
	description: str
	operations: frozenset[str]  # any of these on a DocType makes it one of the tool's doctypes
	function: Callable  # the api.v1 endpoint the call runs
	schemas: tuple[dict, dict]  # input, output
	summary: Callable[[dict], str]
	read_only: bool = False
	result_key: str | None = None  # the API answers with the document itself: put it under this key
	available: Callable[[], bool] | None = None  # listed when this says so, not by the operations

	def is_available(self, view: CallerView) -> bool:
		return self.available() if self.available else bool(view.doctypes(self.operations))

	@property
	def takes_idempotency_key(self) -> bool:
		return not self.read_only

	def definition(self, view: CallerView) -> dict:
		doctypes = view.doctypes(self.operations)
		input_schema, output_schema = self.schemas
		overwrites = self.name == "delete_document" or any(view.allows(d, "update") for d in doctypes)
		return {
			"name": self.name,
			"title": self.title,
			"description": self.description,
			"inputSchema": input_schema,
			"outputSchema": output_schema,
			"annotations": {
				"readOnlyHint": self.read_only,
				"destructiveHint": False if self.read_only else overwrites,
				"idempotentHint": True,
				"openWorldHint": False,
			},
		}


def _count(items: str, noun: str) -> Callable[[dict], str]:
	def summary(result: dict) -> str:
		more = " More with next_cursor." if result.get("has_more") else ""
		return f"{len(result.get(items) or [])} {noun} of {result.get('doctype')}.{more}"

	return summary


TOOLS = {
	tool.name: tool
	for tool in (
		Tool(
			"describe_resource",
			"Describe a resource",
			"Without arguments: the resources, methods and reports you may use. With a doctype: its key, "
			"your operations, its usual fields and child tables (more: fields, all_fields). Call it first.",
			frozenset({"read"}),
			describe.describe,
			tool_schemas.DESCRIBE,
			lambda r: (
				f"{len(r['resources'])} resources."
				if "resources" in r
				else f"{r.get('doctype')}: key {', '.join(r.get('key_fields') or [])}; "
				f"you may {', '.join(r.get('operations') or [])}."
			),
			read_only=True,
			available=lambda: True,  # methods and reports too: a caller may have only those
		),
		Tool(
			"list_documents",
			"List documents",
			"A page of documents, with filters, fields and an order; next_cursor gives the next page.",
			frozenset({"read"}),
			v1.list_documents,
			tool_schemas.LIST,
			_count("data", "documents"),
			read_only=True,
		),
		Tool(
			"get_document",
			"Get a document",
			"One document, by name or key, with its child tables.",
			frozenset({"read"}),
			v1.get_document,
			tool_schemas.GET,
			lambda r: f"{r.get('doctype')} {(r.get('doc') or {}).get('name')}.",
			read_only=True,
			result_key="doc",
		),
		Tool(
			"upsert_document",
			"Create or update a document",
			"Create the document with these key values, or update the one that has them (nothing saved if "
			"nothing changes). idempotency_key makes a retry safe.",
			frozenset({"create", "update"}),
			v1.upsert,
			tool_schemas.UPSERT,
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"create_document",
			"Create a document",
			"Create a document named by its DocType's rule (a naming series). idempotency_key makes a "
			"retry safe.",
			frozenset({"create"}),
			v1.create_document,
			tool_schemas.CREATE,
			lambda r: f"{r.get('doctype')} {r.get('name')}: created.",
		),
		Tool(
			"bulk_upsert_documents",
			"Create or update many documents",
			"Upsert a batch of records by key, with one result each.",
			frozenset({"create", "update"}),
			v1.bulk_upsert,
			tool_schemas.BULK_UPSERT,
			lambda r: (
				f"{len(r.get('results') or [])} records of {r.get('doctype')}: "
				+ ", ".join(
					f"{sum(1 for x in r.get('results') or [] if x.get('status') == s)} {s}"
					for s in ("created", "updated", "unchanged", "failed")
				)
				+ "."
			),
		),
		Tool(
			"delete_document",
			"Delete a document",
			"Delete one document, by name or key.",
			frozenset({"delete"}),
			v1.delete_document,
			tool_schemas.DELETE,
			lambda r: f"{r.get('doctype')} {r.get('name')}: deleted.",
		),
		Tool(
			"submit_document",
			"Submit a document",
			"Submit a draft (an invoice, a stock entry...): only a submitted document counts.",
			frozenset({"submit"}),
			v1.submit_document,
			tool_schemas.SUBMIT,
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"cancel_document",
			"Cancel a document",
			"Cancel a submitted document: its stock and ledger entries are reversed.",
			frozenset({"cancel"}),
			v1.cancel_document,
			tool_schemas.CANCEL,
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"amend_document",
			"Amend a cancelled document",
			"Amend a cancelled document: a new draft named after it (SINV-0001-1), with data's changes.",
			frozenset({"submit"}),
			v1.amend_document,
			tool_schemas.AMEND,
			lambda r: f"{r.get('doctype')} {r.get('name')}: created.",
		),
		Tool(
			"call_method",
			"Call a method",
			"Call one of your methods (describe_resource method=... gives its arguments).",
			frozenset(),
			v1.call_method,
			tool_schemas.CALL_METHOD,
			lambda r: f"{r.get('method')} answered.",
			available=lambda: bool(callable_methods()),
		),
		Tool(
			"run_report",
			"Run a report",
			"Run one of your reports (describe_resource report=... gives its filters), in pages.",
			frozenset(),
			v1.run_report,
			tool_schemas.RUN_REPORT,
			lambda r: (
				f"{len(r.get('rows') or [])} rows of {r.get('report')}."
				+ (" More with next_cursor." if r.get("has_more") else "")
			),
			read_only=True,
			available=lambda: bool(runnable_reports()),
		),
		Tool(
			"list_changes",
			"Read the change feed",
			"What changed, deletions included, oldest first (without a cursor: every document first). "
			"Keep next_cursor to go on later.",
			frozenset({"changes"}),
			v1.changes,
			tool_schemas.CHANGES,
			_count("changes", "changes"),
			read_only=True,
		),
	)
}


def require_scope(name: object) -> None:
	"""An OAuth token's scopes must cover the tool called (InsufficientScope, a 403, otherwise)."""
	tool = TOOLS.get(name) if isinstance(name, str) else None
	if tool is not None:
		scopes.require(tool.function.__name__)


TOOL_LIST_SECONDS = 300


def list_tools(call: Call, page_size: int) -> dict:
	items, next_cursor = page(caller_tools(), call.params, "tools", frappe.session.user, page_size)
	return {"tools": items, **({"nextCursor": next_cursor} if next_cursor else {})}


def caller_tools() -> list[dict]:
	"""The caller's tool list, cached for TOOL_LIST_SECONDS under everything it is built from but the
	DocTypes' role permissions: its user and roles, its key's (or connection's) scopes, what is exposed,
	the methods and reports it may use. Which tools to list takes every exposed DocType's permissions,
	and so their metadata (ERPNext's are large): about 15 ms a request on ten ERPNext DocTypes, five
	times a ping. Only the list is cached, never a decision: every call is checked as it comes, and a
	change of a role's permissions shows in the list within the five minutes."""
	cache_key = "integration_hub:mcp_tools:" + _caller_fingerprint()
	tools = frappe.cache.get_value(cache_key)
	if tools is None:
		view = caller_view()
		tools = [tool.definition(view) for tool in TOOLS.values() if tool.is_available(view)]
		frappe.cache.set_value(cache_key, tools, expires_in_sec=TOOL_LIST_SECONDS)
	return tools


def _caller_fingerprint() -> str:
	key = current_key()
	credential = key and (key.parenttype, key.name, sorted((d, sorted(o)) for d, o in key.scopes.items()))
	parts = [
		frappe.session.user,
		sorted(frappe.get_roles()),
		credential,
		sorted(key.oauth_scopes) if key and key.oauth_scopes is not None else None,
		exposure_fingerprint(),
		[method.name for method, _function in callable_methods()],
		[report.name for report in runnable_reports()],
	]
	return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


# --- calls -----------------------------------------------------------------------------------


def call_tool(call: Call) -> dict:
	"""tools/call: an unknown tool or non-object arguments are protocol errors; anything the API refuses
	is a result with isError."""
	name, arguments = call.params.get("name"), call.params.get("arguments")
	tool = TOOLS.get(name) if isinstance(name, str) else None
	if arguments is None:
		arguments = {}
	if not isinstance(arguments, dict):
		raise RpcError(INVALID_PARAMS, "arguments must be an object")
	arguments = dict(arguments)
	if tool is None:
		raise RpcError(INVALID_PARAMS, f"Unknown tool: {str(name)[:100]}", {"tools": list(TOOLS)})
	key = arguments.pop(IDEMPOTENCY_ARGUMENT, None) if tool.takes_idempotency_key else None
	if key is None:
		status, body = _run(tool.function, arguments)
	else:
		status, body = _run_idempotently(tool.function, key, arguments)
	return _tool_result(tool, arguments, status, body)


def _run(function: Callable, arguments: dict) -> tuple[int, dict]:
	"""(HTTP status, body) as the API would answer: `{"message": result}` or a problem. A failure has been
	rolled back, by the endpoint or here (argument types are checked before the endpoint runs)."""
	try:
		result = function(**arguments)
	except Exception as e:
		frappe.db.rollback()
		result = response_for_exception(e)
	if isinstance(result, Response):
		return result.status_code, json.loads(result.get_data(as_text=True))
	return 200, {"message": result}


def _run_idempotently(function: Callable, key: object, arguments: dict) -> tuple[int, dict]:
	"""The `Idempotency-Key` header's rules, with the key as an argument: the same table, scoped to the
	same user, with the same fingerprint, so an HTTP retry and an MCP retry of one request agree."""
	if not isinstance(key, str):
		return _run(_refuse(_("idempotency_key must be a string")), {})
	try:
		claim = idempotency.claim(
			key, idempotency.request_fingerprint(function.__name__, arguments), frappe.session.user
		)
	except Exception as e:
		frappe.db.rollback()
		status, body = _run(_refuse_with(e), {})
		return status, _point_at_argument(body)
	if claim.replay:
		frappe.db.rollback()
		return claim.replay.status, json.loads(claim.replay.body)
	frappe.db.commit()  # the claim must be visible to a concurrent retry while this one runs
	status, body = _run(function, arguments)
	if status in (409, 429) or status >= 500:
		idempotency.release(claim.record)  # a retry may succeed: do not pin this answer to the key
	else:
		idempotency.complete(claim.record, status, response_json(body))
	return status, body


def _refuse(detail: str) -> Callable:
	return _refuse_with(BadRequest(detail, [{"pointer": f"/{IDEMPOTENCY_ARGUMENT}"}]))


def _refuse_with(exc: Exception) -> Callable:
	def refuse():
		raise exc

	return refuse


def _point_at_argument(problem: dict) -> dict:
	for error in problem.get("errors") or []:
		if error.get("pointer") == "/headers/Idempotency-Key":
			error["pointer"] = f"/{IDEMPOTENCY_ARGUMENT}"
	return problem


def _error_result(problem: dict) -> dict:
	return {
		"content": [{"type": "text", "text": problem_text(problem)}],
		"structuredContent": {"error": problem},
		"isError": True,
	}


def _tool_result(tool: Tool, arguments: dict, status: int, body: dict) -> dict:
	if status >= 400:
		return _error_result(body)
	message = body["message"]
	structured = {
		**({"doctype": arguments["doctype"]} if arguments.get("doctype") else {}),
		**({tool.result_key: message} if tool.result_key else message),
	}
	text = f"{tool.summary(structured)}\n{response_json(structured)}"
	return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def problem_text(problem: dict) -> str:
	"""`CODE: detail` and each pointer, for a model that reads only text."""
	lines = [f"{problem.get('code')}: {problem.get('detail')}"]
	lines += [f"{e.get('pointer')}: {e.get('detail', '')}".rstrip(": ") for e in problem.get("errors") or []]
	return "\n".join(lines)

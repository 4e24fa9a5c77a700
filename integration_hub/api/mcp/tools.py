"""The MCP tools: one per operation of the document API, each with a `doctype` argument that enumerates
the resources this caller may use it on (exposure ∩ key scopes ∩ Frappe permissions).

Eleven tools whatever the number of exposed DocTypes, so a model chooses among operations it knows
("list", "upsert") rather than among hundreds of near-identical names, and the schemas say per DocType
which fields it may read and write (`if doctype is X then ...`), derived from the same field policy as
the OpenAPI document.

The schemas are tool_schemas.py's. A call runs the `api.v1` function an HTTP client calls, so reads, writes, permissions, field shaping and
errors are the API's own; a refusal comes back as the API's problem, in a result with `isError`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Response

import frappe
from frappe import _

from integration_hub.api import v1
from integration_hub.api.errors import response_for_exception, response_json
from integration_hub.api.mcp.caller import CallerView, caller_view
from integration_hub.api.mcp.protocol import INVALID_PARAMS, Call, RpcError, page
from integration_hub.api.mcp.tool_schemas import (
	IDEMPOTENCY_ARGUMENT,
	IDEMPOTENCY_SCHEMA,
	amend_schemas,
	bulk_upsert_schemas,
	changes_schemas,
	create_schemas,
	delete_schemas,
	describe_schemas,
	get_schemas,
	list_schemas,
	transition_schemas,
	upsert_schemas,
)
from integration_hub.documents import idempotency
from integration_hub.exceptions import BadRequest
from integration_hub.methods.calling import callable_methods
from integration_hub.methods.schemas import call_properties
from integration_hub.reports.running import runnable_reports
from integration_hub.reports.schemas import filters_schema

# --- the tools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
	name: str
	title: str
	description: str
	operations: frozenset[str]  # any of these on a DocType makes it one of the tool's doctypes
	function: Callable  # the api.v1 endpoint the call runs
	schemas: Callable[[CallerView, list[str]], tuple[dict, dict]]
	summary: Callable[[dict], str]
	read_only: bool = False
	result_key: str | None = None  # the API answers with the document itself: put it under this key

	@property
	def takes_idempotency_key(self) -> bool:
		return not self.read_only

	def definition(self, view: CallerView) -> dict:
		doctypes = view.doctypes(self.operations)
		input_schema, output_schema = self.schemas(view, doctypes)
		overwrites = self.name == "delete_document" or any(view.allows(d, "update") for d in doctypes)
		return {
			"name": self.name,
			"title": self.title,
			"description": self.description,
			"inputSchema": input_schema,
			"outputSchema": output_schema,
			"annotations": {
				"title": self.title,
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
			"The key fields, the operations you may perform, and every field you may read (with its type "
			"and whether you may write it) of one resource. Call it before writing.",
			frozenset({"read"}),
			v1.describe,
			describe_schemas,
			lambda r: (
				f"{r.get('doctype')}: key {', '.join(r.get('key_fields') or [])}; "
				f"you may {', '.join(r.get('operations') or [])}."
			),
			read_only=True,
		),
		Tool(
			"list_documents",
			"List documents",
			"A page of documents you may read, with filters, chosen fields and an order; follow next_cursor "
			"for the next page.",
			frozenset({"read"}),
			v1.list_documents,
			list_schemas,
			_count("data", "documents"),
			read_only=True,
		),
		Tool(
			"get_document",
			"Get a document",
			"One document, by name or by the values of its key fields, with the fields you may read and its "
			"child tables.",
			frozenset({"read"}),
			v1.get_document,
			get_schemas,
			lambda r: f"{r.get('doctype')} {(r.get('doc') or {}).get('name')}.",
			read_only=True,
			result_key="doc",
		),
		Tool(
			"upsert_document",
			"Create or update a document",
			"Create the document with these key values, or update the one that has them; nothing is saved "
			"when nothing changes (status unchanged). Pass an idempotency_key to make a retry safe, and "
			"the _version you read to refuse the write if someone changed the document meanwhile.",
			frozenset({"create", "update"}),
			v1.upsert,
			upsert_schemas,
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"create_document",
			"Create a document",
			"Create a new document of a resource whose names are generated (a naming series, a number, a "
			"hash), with the same validation as an upsert. Pass an idempotency_key to make a retry safe.",
			frozenset({"create"}),
			v1.create_document,
			create_schemas,
			lambda r: f"{r.get('doctype')} {r.get('name')}: created.",
		),
		Tool(
			"bulk_upsert_documents",
			"Create or update many documents",
			"Upsert a batch of records by their key, with one result per record; atomic: true writes all or "
			"nothing. Pass an idempotency_key to make a retry safe.",
			frozenset({"create", "update"}),
			v1.bulk_upsert,
			bulk_upsert_schemas,
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
			"Delete one document, by name or by the values of its key fields.",
			frozenset({"delete"}),
			v1.delete_document,
			delete_schemas,
			lambda r: f"{r.get('doctype')} {r.get('name')}: deleted.",
		),
		Tool(
			"submit_document",
			"Submit a document",
			"Submit a draft of a submittable resource (an invoice, a stock entry…), by name or key: only a "
			"submitted document counts (stock moves, ledgers are booked). A submitted one stays unchanged.",
			frozenset({"submit"}),
			v1.submit_document,
			transition_schemas("submitted"),
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"cancel_document",
			"Cancel a document",
			"Cancel a submitted document, by name or key (its stock and ledger entries are reversed); amend "
			"it afterwards to make a corrected version.",
			frozenset({"cancel"}),
			v1.cancel_document,
			transition_schemas("cancelled"),
			lambda r: f"{r.get('doctype')} {r.get('name')}: {r.get('status')}.",
		),
		Tool(
			"amend_document",
			"Amend a cancelled document",
			"Make the amendment of a cancelled document: a new draft named after it (SINV-0001-1), with the "
			"changes in data; submit: true submits it too.",
			frozenset({"submit"}),
			v1.amend_document,
			amend_schemas,
			lambda r: f"{r.get('doctype')} {r.get('name')}: created.",
		),
		Tool(
			"list_changes",
			"Read the change feed",
			"What changed in a resource, deletions included, oldest first: without a cursor, every current "
			"document first, then each later change. Keep next_cursor to continue later.",
			frozenset({"changes"}),
			v1.changes,
			changes_schemas,
			_count("changes", "changes"),
			read_only=True,
		),
	)
}


# --- curated methods: one tool each ----------------------------------------------------------

METHOD_TOOL_PREFIX = "call_"
METHOD_DESCRIPTION_LIMIT = 300  # a docstring can be pages long; the tool list must stay small


def method_tool_definitions() -> list[dict]:
	"""A tool per curated method the caller may call: `call_<public name>`, its arguments from the
	method's signature."""
	definitions = []
	for method, function in callable_methods():
		properties = call_properties(method, function)
		if not method.only_reads:
			properties[IDEMPOTENCY_ARGUMENT] = IDEMPOTENCY_SCHEMA
		description = _short(method.description or method.name)
		definitions.append(
			{
				"name": METHOD_TOOL_PREFIX + method.name,
				"title": method.name,
				"description": description,
				"inputSchema": {
					"type": "object",
					"properties": properties,
					"required": ["args"] if properties["args"].get("required") else [],
					"additionalProperties": False,
				},
				"outputSchema": {
					"type": "object",
					"properties": {
						"method": {"type": "string"},
						"result": {"description": "What the method returned"},
						"error": {"type": "object", "description": "Why the call failed (isError)"},
					},
				},
				"annotations": {
					"title": method.name,
					"readOnlyHint": method.only_reads,
					"destructiveHint": False,
					"idempotentHint": method.only_reads,
					"openWorldHint": False,
				},
			}
		)
	return definitions


def call_method_tool(name: str, arguments: dict) -> dict | None:
	"""tools/call of a method's tool, or None if `name` is not one this caller may call."""
	method = next(
		(m for m, _f in callable_methods() if METHOD_TOOL_PREFIX + m.name == name),
		None,
	)
	if method is None:
		return None
	key = arguments.pop(IDEMPOTENCY_ARGUMENT, None) if not method.only_reads else None
	arguments = {"method": method.name, **arguments}
	if key is None:
		status, body = _run(v1.call_method, arguments)
	else:
		status, body = _run_idempotently(v1.call_method, key, arguments)
	if status >= 400:
		return _error_result(body)
	structured = body["message"]
	text = f"{method.name} answered.\n{response_json(structured)}"
	return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


# --- curated reports: one tool each ----------------------------------------------------------

REPORT_TOOL_PREFIX = "report_"


def report_tool_definitions() -> list[dict]:
	"""A read-only tool per curated report the caller may run: `report_<public name>`."""
	return [
		{
			"name": REPORT_TOOL_PREFIX + report.name,
			"title": report.report,
			"description": _short(report.description or f"The {report.report} report")
			+ " Rows come in pages: pass next_cursor back as cursor for the next.",
			"inputSchema": {
				"type": "object",
				"properties": {
					"filters": filters_schema(report),
					"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
					"cursor": {"type": "string"},
				},
				"required": ["filters"] if any(f.required for f in report.filters) else [],
				"additionalProperties": False,
			},
			"outputSchema": {
				"type": "object",
				"properties": {
					"report": {"type": "string"},
					"columns": {"type": "array", "items": {"type": "object"}},
					"rows": {"type": "array", "items": {"type": "object"}},
					"total": {"type": "object"},
					"next_cursor": {"type": ["string", "null"]},
					"has_more": {"type": "boolean"},
					"error": {"type": "object", "description": "Why the call failed (isError)"},
				},
			},
			"annotations": {
				"title": report.report,
				"readOnlyHint": True,
				"destructiveHint": False,
				"idempotentHint": True,
				"openWorldHint": False,
			},
		}
		for report in runnable_reports()
	]


def call_report_tool(name: str, arguments: dict) -> dict | None:
	"""tools/call of a report's tool, or None if `name` is not one this caller may run."""
	report = next((r for r in runnable_reports() if REPORT_TOOL_PREFIX + r.name == name), None)
	if report is None:
		return None
	status, body = _run(v1.run_report, {"report": report.name, **arguments})
	if status >= 400:
		return _error_result(body)
	structured = body["message"]
	more = " More with next_cursor." if structured.get("has_more") else ""
	text = f"{len(structured['rows'])} rows of {report.report}.{more}\n{response_json(structured)}"
	return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def _short(description: str) -> str:
	"""A description cut to METHOD_DESCRIPTION_LIMIT: a docstring can be pages long, the list must stay small."""
	description = description.strip()
	if len(description) > METHOD_DESCRIPTION_LIMIT:
		description = description[: METHOD_DESCRIPTION_LIMIT - 1].rstrip() + "…"
	return description


def list_tools(call: Call, page_size: int) -> dict:
	view = caller_view()
	tools = [tool.definition(view) for tool in TOOLS.values() if view.doctypes(tool.operations)]
	tools += method_tool_definitions() + report_tool_definitions()
	items, next_cursor = page(tools, call.params, "tools", frappe.session.user, page_size)
	return {"tools": items, **({"nextCursor": next_cursor} if next_cursor else {})}


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
	if tool is None and isinstance(name, str) and name.startswith(METHOD_TOOL_PREFIX):
		if (result := call_method_tool(name, arguments)) is not None:
			return result
	if tool is None and isinstance(name, str) and name.startswith(REPORT_TOOL_PREFIX):
		if (result := call_report_tool(name, arguments)) is not None:
			return result
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
		"doctype": arguments.get("doctype"),
		**({tool.result_key: message} if tool.result_key else message),
	}
	text = f"{tool.summary(structured)}\n{response_json(structured)}"
	return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def problem_text(problem: dict) -> str:
	"""`CODE: detail` and each pointer, for a model that reads only text."""
	lines = [f"{problem.get('code')}: {problem.get('detail')}"]
	lines += [f"{e.get('pointer')}: {e.get('detail', '')}".rstrip(": ") for e in problem.get("errors") or []]
	return "\n".join(lines)

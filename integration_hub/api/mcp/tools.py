"""The MCP tools: one per operation of the document API, each with a `doctype` argument that enumerates
the resources this caller may use it on (exposure ∩ key scopes ∩ Frappe permissions).

Eight tools whatever the number of exposed DocTypes, so a model chooses among operations it knows
("list", "upsert") rather than among hundreds of near-identical names, and the schemas say per DocType
which fields it may read and write (`if doctype is X then ...`), derived from the same field policy as
the OpenAPI document.

A call runs the `api.v1` function an HTTP client calls, so reads, writes, permissions, field shaping and
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
from integration_hub.api.mcp.protocol import INVALID_PARAMS, Call, RpcError, page
from integration_hub.documents import idempotency
from integration_hub.documents.exposure import Resource, exposed_doctypes, get_resource, permitted_operations
from integration_hub.documents.fields import field_policy
from integration_hub.documents.query import DEFAULT_LIMIT, OPERATORS, ORDER_COLUMNS
from integration_hub.documents.schemas import (
	EXPAND_SCHEMA,
	EXPECTED_VERSION_SCHEMA,
	PROBLEM_SCHEMA,
	record_schema,
	schema_name,
	writable_schema,
)
from integration_hub.exceptions import BadRequest

IDEMPOTENCY_ARGUMENT = "idempotency_key"
NULLABLE_STRING = {"type": ["string", "null"]}


@dataclass(frozen=True)
class CallerView:
	"""The exposed resources this caller may do anything with, and what it may do with each."""

	resources: dict[str, tuple[Resource, frozenset[str]]]

	def doctypes(self, operations: frozenset[str]) -> list[str]:
		return [doctype for doctype, (_r, allowed) in self.resources.items() if allowed & operations]

	def resource(self, doctype: str) -> Resource:
		return self.resources[doctype][0]

	def allows(self, doctype: str, operation: str) -> bool:
		return operation in self.resources[doctype][1]


def caller_view() -> CallerView:
	resources = {}
	for doctype in exposed_doctypes():
		resource = get_resource(doctype)
		allowed = frozenset(permitted_operations(resource))
		if allowed:
			resources[doctype] = (resource, allowed)
	return CallerView(resources)


# --- schemas ---------------------------------------------------------------------------------


def _doctype_argument(doctypes: list[str]) -> dict:
	return {
		"type": "string",
		"enum": doctypes,
		"description": "The resource (a Frappe DocType) this call is about",
	}


def _per_doctype(doctypes: list[str], then: Callable[[str], dict]) -> list[dict]:
	"""`if doctype is X then <schema for X>`, one per DocType: each resource's own fields."""
	return [
		{
			"if": {"properties": {"doctype": {"const": doctype}}, "required": ["doctype"]},
			"then": then(doctype),
		}
		for doctype in doctypes
	]


def _record_defs(view: CallerView, doctypes: list[str]) -> dict:
	return {schema_name(d): record_schema(field_policy(view.resource(d))) for d in doctypes}


def _input_defs(view: CallerView, doctypes: list[str], *, creating: bool = False) -> dict:
	"""Records to upsert (by the resource's key, with an expected `_version`), or to create."""
	return {
		f"{schema_name(d)}Input": writable_schema(
			field_policy(view.resource(d)),
			() if creating else view.resource(d).key_fields,
			expected_version=not creating,
		)
		for d in doctypes
	}


def _ref(name: str) -> dict:
	return {"$ref": f"#/$defs/{name}"}


def _input_schema(properties: dict, required: list[str], **extra) -> dict:
	return {
		"type": "object",
		"properties": properties,
		"required": required,
		"additionalProperties": False,
		**extra,
	}


def _output_schema(properties: dict, required: list[str], **extra) -> dict:
	"""A successful call's structured content, or `{"error": problem}` when the call failed (isError)."""
	return {
		"type": "object",
		"properties": {
			**properties,
			"error": {**PROBLEM_SCHEMA, "description": "Why the call failed (only when isError is true)"},
		},
		"anyOf": [{"required": required}, {"required": ["error"]}],
		**extra,
	}


def _key_object(view: CallerView, doctype: str) -> dict:
	resource = view.resource(doctype)
	record = record_schema(field_policy(resource))["properties"]
	fields = {f: record.get(f, {"type": "string"}) for f in resource.key_fields}
	return {"properties": {"key": {"type": "object", "properties": fields, "additionalProperties": False}}}


IDEMPOTENCY_SCHEMA = {
	"type": "string",
	"minLength": 1,
	"maxLength": idempotency.MAX_KEY_LENGTH,
	"description": "Any unique string for this write (e.g. a UUID); retrying with the same key and "
	"arguments within 24 hours returns the first answer instead of writing again",
}
KEY_OVERRIDE_SCHEMA = {
	"type": "array",
	"items": {"type": "string"},
	"description": "Fieldnames that identify the document, if not the resource's key fields",
}
CURSOR_SCHEMA = {"type": "string", "description": "next_cursor of the previous page, exactly as returned"}


def describe_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	field_entry = {
		"type": "object",
		"properties": {
			"fieldname": {"type": "string"},
			"label": NULLABLE_STRING,
			"fieldtype": {"type": "string"},
			"options": NULLABLE_STRING,
			"reqd": {"type": "integer"},
			"read_only": {"type": "integer"},
			"fields": {"type": "array", "items": _ref("field")},
		},
		"required": ["fieldname", "fieldtype"],
	}
	inputs = _input_schema({"doctype": _doctype_argument(doctypes)}, ["doctype"])
	outputs = _output_schema(
		{
			"doctype": {"type": "string"},
			"key_fields": {"type": "array", "items": {"type": "string"}},
			"operations": {
				"type": "array",
				"items": {"enum": ["read", "create", "update", "delete", "changes"]},
			},
			"max_page_size": {"type": "integer"},
			"max_batch_size": {"type": "integer"},
			"fields": {"type": "array", "items": _ref("field")},
		},
		["doctype", "key_fields", "operations", "fields"],
		**{"$defs": {"field": field_entry}},
	)
	return inputs, outputs


def list_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	def readable_fields(doctype: str) -> dict:
		fieldnames = list(field_policy(view.resource(doctype)).readable)
		return {"properties": {"fields": {"items": {"enum": fieldnames}}}}

	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"fields": {
				"type": "array",
				"items": {"type": "string"},
				"description": "Fieldnames to return (default: every readable field except child tables)",
			},
			"filters": {
				"description": 'Either {"fieldname": value} for equality, or a list of [fieldname, operator, '
				f"value]; operators: {', '.join(OPERATORS)}",
				"anyOf": [
					{"type": "object"},
					{
						"type": "array",
						"items": {
							"type": "array",
							"prefixItems": [{"type": "string"}, {"enum": list(OPERATORS)}, {}],
							"minItems": 3,
							"maxItems": 3,
						},
					},
				],
			},
			"order_by": {
				"type": "string",
				"enum": [f"{c} {d}" for c in ORDER_COLUMNS for d in ("asc", "desc")],
				"default": "modified asc",
			},
			"limit": {
				"type": "integer",
				"minimum": 1,
				"default": DEFAULT_LIMIT,
				"description": "Page size; capped at the resource's max_page_size",
			},
			"cursor": CURSOR_SCHEMA,
			"expand": {
				**EXPAND_SCHEMA,
				"description": EXPAND_SCHEMA["description"] + " (not in child tables)",
			},
		},
		["doctype"],
		allOf=_per_doctype(doctypes, readable_fields),
	)
	outputs = _output_schema(
		{
			"doctype": {"type": "string"},
			"data": {"type": "array", "items": {"type": "object"}},
			"next_cursor": NULLABLE_STRING,
			"has_more": {"type": "boolean"},
		},
		["doctype", "data", "next_cursor", "has_more"],
		allOf=_per_doctype(doctypes, lambda d: {"properties": {"data": {"items": _ref(schema_name(d))}}}),
		**{"$defs": _record_defs(view, doctypes)},
	)
	return inputs, outputs


def get_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"name": {"type": "string", "description": "The document's name (its ID)"},
			"key": {"type": "object", "description": "Or: the values of the resource's key fields"},
			"expand": EXPAND_SCHEMA,
		},
		["doctype"],
		anyOf=[{"required": ["name"]}, {"required": ["key"]}],
		allOf=_per_doctype(doctypes, lambda d: _key_object(view, d)),
	)
	outputs = _output_schema(
		{"doctype": {"type": "string"}, "doc": {"type": "object"}},
		["doctype", "doc"],
		allOf=_per_doctype(doctypes, lambda d: {"properties": {"doc": _ref(schema_name(d))}}),
		**{"$defs": _record_defs(view, doctypes)},
	)
	return inputs, outputs


WRITE_STATUS = {"type": "string", "enum": ["created", "updated", "unchanged"]}


def upsert_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"data": {
				"type": "object",
				"description": "The record: its key fields and the fields to set. The document with these "
				"key values is updated, or created if there is none",
			},
			"key": KEY_OVERRIDE_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "data"],
		allOf=_per_doctype(doctypes, lambda d: {"properties": {"data": _ref(f"{schema_name(d)}Input")}}),
		**{"$defs": _input_defs(view, doctypes)},
	)
	return inputs, _written_output(view, doctypes, WRITE_STATUS)


def _written_output(view: CallerView, doctypes: list[str], status: dict) -> dict:
	"""A single write's answer: the document's name, what happened to it, and the document."""
	return _output_schema(
		{
			"doctype": {"type": "string"},
			"name": {"type": "string"},
			"status": status,
			"doc": {"type": "object"},
		},
		["doctype", "name", "status", "doc"],
		allOf=_per_doctype(doctypes, lambda d: {"properties": {"doc": _ref(schema_name(d))}}),
		**{"$defs": _record_defs(view, doctypes)},
	)


def create_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"data": {
				"type": "object",
				"description": "The new document's fields; its name is given by the DocType's naming rule",
			},
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "data"],
		allOf=_per_doctype(doctypes, lambda d: {"properties": {"data": _ref(f"{schema_name(d)}Input")}}),
		**{"$defs": _input_defs(view, doctypes, creating=True)},
	)
	return inputs, _written_output(view, doctypes, {"const": "created"})


def bulk_upsert_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	def records(doctype: str) -> dict:
		items = {"items": _ref(f"{schema_name(doctype)}Input")}
		return {"properties": {"records": {**items, "maxItems": view.resource(doctype).max_batch_size}}}

	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"records": {"type": "array", "items": {"type": "object"}, "description": "Records to upsert"},
			"key": KEY_OVERRIDE_SCHEMA,
			"atomic": {
				"type": "boolean",
				"default": False,
				"description": "true: if any record fails, none is written",
			},
			"mode": {
				"enum": ["upsert", "create"],
				"default": "upsert",
				"description": "create: every record is a new document named by the DocType's rule "
				"(records carry no key, and no _version)",
			},
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "records"],
		allOf=_per_doctype(doctypes, records),
		**{"$defs": _input_defs(view, doctypes)},
	)
	record_error = {
		"type": "object",
		"properties": {
			"status": {"type": "integer"},
			"code": {"type": "string"},
			"detail": {"type": "string"},
			"errors": PROBLEM_SCHEMA["properties"]["errors"],
		},
	}
	result = {
		"type": "object",
		"properties": {
			"index": {"type": "integer"},
			"status": {"type": "string", "enum": ["created", "updated", "unchanged", "failed"]},
			"name": {"type": "string"},
			"error": record_error,
		},
		"required": ["index", "status"],
	}
	outputs = _output_schema(
		{"doctype": {"type": "string"}, "results": {"type": "array", "items": result}},
		["doctype", "results"],
	)
	return inputs, outputs


def delete_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"name": {"type": "string", "description": "The document's name (its ID)"},
			"key": {"type": "object", "description": "Or: the values of the resource's key fields"},
			"if_match": EXPECTED_VERSION_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype"],
		anyOf=[{"required": ["name"]}, {"required": ["key"]}],
		allOf=_per_doctype(doctypes, lambda d: _key_object(view, d)),
	)
	outputs = _output_schema(
		{"doctype": {"type": "string"}, "name": {"type": "string"}, "status": {"const": "deleted"}},
		["doctype", "name", "status"],
	)
	return inputs, outputs


def changes_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			"doctype": _doctype_argument(doctypes),
			"cursor": {**CURSOR_SCHEMA, "description": "next_cursor of the previous call; none to start"},
			"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
			"expand": EXPAND_SCHEMA,
		},
		["doctype"],
	)
	change = {
		"type": "object",
		"properties": {
			"op": {"enum": ["upsert", "delete"]},
			"name": {"type": "string"},
			"modified": NULLABLE_STRING,
			"doc": {"type": "object"},
		},
		"required": ["op", "name"],
	}
	outputs = _output_schema(
		{
			"doctype": {"type": "string"},
			"changes": {"type": "array", "items": change},
			"next_cursor": NULLABLE_STRING,
			"has_more": {"type": "boolean"},
		},
		["doctype", "changes", "next_cursor", "has_more"],
		allOf=_per_doctype(
			doctypes,
			lambda d: {"properties": {"changes": {"items": {"properties": {"doc": _ref(schema_name(d))}}}}},
		),
		**{"$defs": _record_defs(view, doctypes)},
	)
	return inputs, outputs


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


def list_tools(call: Call, page_size: int) -> dict:
	view = caller_view()
	tools = [tool.definition(view) for tool in TOOLS.values() if view.doctypes(tool.operations)]
	items, next_cursor = page(tools, call.params, "tools", frappe.session.user, page_size)
	return {"tools": items, **({"nextCursor": next_cursor} if next_cursor else {})}


# --- calls -----------------------------------------------------------------------------------


def call_tool(call: Call) -> dict:
	"""tools/call: an unknown tool or non-object arguments are protocol errors; anything the API refuses
	is a result with isError."""
	name, arguments = call.params.get("name"), call.params.get("arguments")
	tool = TOOLS.get(name) if isinstance(name, str) else None
	if tool is None:
		raise RpcError(INVALID_PARAMS, f"Unknown tool: {str(name)[:100]}", {"tools": list(TOOLS)})
	if arguments is None:
		arguments = {}
	if not isinstance(arguments, dict):
		raise RpcError(INVALID_PARAMS, "arguments must be an object")
	arguments = dict(arguments)
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


def _tool_result(tool: Tool, arguments: dict, status: int, body: dict) -> dict:
	if status >= 400:
		return {
			"content": [{"type": "text", "text": problem_text(body)}],
			"structuredContent": {"error": body},
			"isError": True,
		}
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

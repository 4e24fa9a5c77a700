"""The input and output JSON schemas of the MCP tools, per caller: each `doctype` argument enumerates
the resources this caller may use the tool on, and each record's schema says per DocType which fields
it may read and write (`if doctype is X then ...`), from the same field policy as the OpenAPI
document."""

from collections.abc import Callable

from integration_hub.api.mcp.caller import CallerView
from integration_hub.documents import idempotency
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

IDEMPOTENCY_ARGUMENT = "idempotency_key"
NULLABLE_STRING = {"type": ["string", "null"]}


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
SUBMIT_SCHEMA = {
	"type": "boolean",
	"default": False,
	"description": "Submittable resources (invoices, stock entries…): submit the document in the same "
	"transaction, so it counts (stock moves, ledgers are booked); both happen or neither",
}


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
				"items": {"enum": ["read", "create", "update", "delete", "submit", "cancel", "changes"]},
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
				f"value]; operators: {', '.join(OPERATORS)}. A child table's field is "
				'"table.field" ({"barcodes.barcode": "4006381333931"}) or [table, field, operator, value]: '
				"the document matches when one of its rows does",
				"anyOf": [
					{"type": "object"},
					{
						"type": "array",
						"items": {
							"anyOf": [
								{
									"type": "array",
									"prefixItems": [{"type": "string"}, {"enum": list(OPERATORS)}, {}],
									"minItems": 3,
									"maxItems": 3,
								},
								{
									"type": "array",
									"prefixItems": [
										{"type": "string"},
										{"type": "string"},
										{"enum": list(OPERATORS)},
										{},
									],
									"minItems": 4,
									"maxItems": 4,
								},
							]
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


def _name_or_key(doctypes: list[str]) -> dict:
	"""The arguments that name one document: its doctype, and its name or its key."""
	return {
		"doctype": _doctype_argument(doctypes),
		"name": {"type": "string", "description": "The document's name (its ID)"},
		"key": {"type": "object", "description": "Or: the values of the resource's key fields"},
	}


def get_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			**_name_or_key(doctypes),
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


WRITE_STATUS = {"type": "string", "enum": ["created", "updated", "unchanged", "submitted"]}


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
			"submit": SUBMIT_SCHEMA,
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
			"submit": SUBMIT_SCHEMA,
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
			"submit": SUBMIT_SCHEMA,
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
			"status": {"type": "string", "enum": ["created", "updated", "unchanged", "submitted", "failed"]},
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


def _one_document_input(view: CallerView, doctypes: list[str]) -> dict:
	"""A write to one document named by its name or its key, at the version it is expected at."""
	return _input_schema(
		{
			**_name_or_key(doctypes),
			"if_match": EXPECTED_VERSION_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype"],
		anyOf=[{"required": ["name"]}, {"required": ["key"]}],
		allOf=_per_doctype(doctypes, lambda d: _key_object(view, d)),
	)


def delete_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _one_document_input(view, doctypes)
	outputs = _output_schema(
		{"doctype": {"type": "string"}, "name": {"type": "string"}, "status": {"const": "deleted"}},
		["doctype", "name", "status"],
	)
	return inputs, outputs


def transition_schemas(status: str) -> Callable[[CallerView, list[str]], tuple[dict, dict]]:
	"""submit_document and cancel_document: one document by name or key; `status`, or `unchanged` when
	it was so already."""

	def schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
		inputs = _one_document_input(view, doctypes)
		return inputs, _written_output(view, doctypes, {"enum": [status, "unchanged"]})

	return schemas


def amend_schemas(view: CallerView, doctypes: list[str]) -> tuple[dict, dict]:
	inputs = _input_schema(
		{
			**_name_or_key(doctypes),
			"data": {"type": "object", "description": "What the amendment changes (fields you may write)"},
			"submit": SUBMIT_SCHEMA,
			"if_match": EXPECTED_VERSION_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype"],
		anyOf=[{"required": ["name"]}, {"required": ["key"]}],
		allOf=_per_doctype(
			doctypes,
			lambda d: {
				"properties": {**_key_object(view, d)["properties"], "data": _ref(f"{schema_name(d)}Input")}
			},
		),
		**{"$defs": _input_defs(view, doctypes, creating=True)},
	)
	return inputs, _written_output(view, doctypes, {"const": "created"})


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

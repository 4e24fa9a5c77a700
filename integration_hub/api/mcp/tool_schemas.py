"""The input and output JSON schemas of the MCP tools: the same for every caller, resource, method and
report, so the tool list stays the same size (under 15 KB) whatever is exposed.

A tool's schema does not carry each DocType's fields, nor each method's arguments. ERPNext's Sales
Invoice alone has hundreds of fields and child tables: ten such resources in every tool's schema made
a tool list of a megabyte, which no model can read. What a resource holds, or a method takes, comes on
demand from `describe_resource` (and `resources/read`), and a wrong field or argument is refused with a
JSON pointer to it (`/data/qty`), so a model corrects itself.
"""

from integration_hub.documents import idempotency
from integration_hub.documents.query import DEFAULT_LIMIT, OPERATORS, ORDER_COLUMNS
from integration_hub.security.api_keys import SCOPE_OPERATIONS

IDEMPOTENCY_ARGUMENT = "idempotency_key"
NULLABLE_STRING = {"type": ["string", "null"]}

DOCTYPE_ARGUMENT = {"type": "string", "description": "A DocType; describe_resource lists yours"}
RECORD = {"type": "object", "description": "Fields by fieldname (describe_resource gives them)"}
ERROR = {"type": "object", "description": "Why the call failed (with isError)"}
EXPAND_SCHEMA = {
	"type": "array",
	"items": {"type": "string"},
	"maxItems": 20,
	"description": "Links to answer as documents: customer, items.item_code, customer.territory",
}
IDEMPOTENCY_SCHEMA = {
	"type": "string",
	"minLength": 1,
	"maxLength": idempotency.MAX_KEY_LENGTH,
	"description": "A UUID: a retry with the same key and arguments (24 h) gets the first answer",
}
KEY_OVERRIDE_SCHEMA = {
	"type": "array",
	"items": {"type": "string"},
	"description": "Fields that identify the document, if not the key fields",
}
CURSOR_SCHEMA = {"type": "string", "description": "next_cursor of the previous page"}
SUBMIT_SCHEMA = {"type": "boolean", "default": False, "description": "Submit it too (so it counts)"}
NAME_OR_KEY = {
	"doctype": DOCTYPE_ARGUMENT,
	"name": {"type": "string", "description": "The document's name (ID)"},
	"key": {"type": "object", "description": "Or its key fields' values"},
}
IF_MATCH = {"type": "string", "description": "The _version you read: refused (412) if it changed"}
ONE_DOCUMENT = {"anyOf": [{"required": ["name"]}, {"required": ["key"]}]}
WRITE_STATUS = {"enum": ["created", "updated", "unchanged", "submitted"]}
PAGE = {"next_cursor": NULLABLE_STRING, "has_more": {"type": "boolean"}}


def _input_schema(properties: dict, required: list[str], **extra) -> dict:
	return {
		"type": "object",
		"properties": properties,
		"required": required,
		"additionalProperties": False,
		**extra,
	}


def _output_schema(properties: dict) -> dict:
	"""A successful call's structured content, or `{"error": problem}` when it failed (isError)."""
	return {"type": "object", "properties": {**properties, "error": ERROR}}


DESCRIBE = (
	_input_schema(
		{
			"doctype": {"type": "string", "description": "A resource to describe"},
			"fields": {
				"type": "array",
				"items": {"type": "string"},
				"description": "More of its fields, by name (items.rate: a child table's)",
			},
			"all_fields": {"type": "boolean", "default": False},
			"method": {"type": "string", "description": "Or a method: its arguments"},
			"report": {"type": "string", "description": "Or a report: its filters"},
		},
		[],
	),
	_output_schema(
		{
			"resources": {"type": "array", "items": {"type": "object"}},
			"methods": {"type": "array", "items": {"type": "object"}},
			"reports": {"type": "array", "items": {"type": "object"}},
			"doctype": {"type": "string"},
			"key_fields": {"type": "array", "items": {"type": "string"}},
			"operations": {"type": "array", "items": {"enum": list(SCOPE_OPERATIONS)}},
			"fields": {"type": "object"},
			"tables": {"type": "object"},
			"arguments": {"type": "object"},
			"filters": {"type": "object"},
		}
	),
)

LIST = (
	_input_schema(
		{
			"doctype": DOCTYPE_ARGUMENT,
			"fields": {
				"type": "array",
				"items": {"type": "string"},
				"description": "Default: all but tables",
			},
			"filters": {
				"description": '{"field": value}, or [[field, operator, value], ...]; operators: '
				f"{', '.join(OPERATORS)}. In a child table: table.field",
				"anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "array"}}],
			},
			"order_by": {
				"type": "string",
				"description": f"{' / '.join(ORDER_COLUMNS)}, then asc or desc",
				"default": "modified asc",
			},
			"limit": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
			"cursor": CURSOR_SCHEMA,
			"expand": EXPAND_SCHEMA,
		},
		["doctype"],
	),
	_output_schema({"doctype": {"type": "string"}, "data": {"type": "array"}, **PAGE}),
)

GET = (
	_input_schema({**NAME_OR_KEY, "expand": EXPAND_SCHEMA}, ["doctype"], **ONE_DOCUMENT),
	_output_schema({"doctype": {"type": "string"}, "doc": {"type": "object"}}),
)


def _written(status: dict) -> dict:
	"""A single write's answer: the document's name, what happened to it, and the document."""
	return _output_schema(
		{
			"doctype": {"type": "string"},
			"name": {"type": "string"},
			"status": status,
			"doc": {"type": "object"},
		}
	)


UPSERT = (
	_input_schema(
		{
			"doctype": DOCTYPE_ARGUMENT,
			"data": {**RECORD, "description": "Key fields and fields to set; _version: the one you read"},
			"key": KEY_OVERRIDE_SCHEMA,
			"submit": SUBMIT_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "data"],
	),
	_written(WRITE_STATUS),
)

CREATE = (
	_input_schema(
		{
			"doctype": DOCTYPE_ARGUMENT,
			"data": RECORD,
			"submit": SUBMIT_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "data"],
	),
	_written({"const": "created"}),
)

BULK_UPSERT = (
	_input_schema(
		{
			"doctype": DOCTYPE_ARGUMENT,
			"records": {"type": "array", "items": RECORD},
			"key": KEY_OVERRIDE_SCHEMA,
			"atomic": {"type": "boolean", "default": False, "description": "All or nothing"},
			"mode": {"enum": ["upsert", "create"], "default": "upsert"},
			"submit": SUBMIT_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype", "records"],
	),
	_output_schema({"doctype": {"type": "string"}, "results": {"type": "array"}}),
)

ONE_DOCUMENT_WRITE = _input_schema(
	{**NAME_OR_KEY, "if_match": IF_MATCH, IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA},
	["doctype"],
	**ONE_DOCUMENT,
)

DELETE = (
	ONE_DOCUMENT_WRITE,
	_output_schema(
		{"doctype": {"type": "string"}, "name": {"type": "string"}, "status": {"const": "deleted"}}
	),
)
SUBMIT = (ONE_DOCUMENT_WRITE, _written({"enum": ["submitted", "unchanged"]}))
CANCEL = (ONE_DOCUMENT_WRITE, _written({"enum": ["cancelled", "unchanged"]}))

AMEND = (
	_input_schema(
		{
			**NAME_OR_KEY,
			"data": {**RECORD, "description": "What the amendment changes"},
			"submit": SUBMIT_SCHEMA,
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["doctype"],
		**ONE_DOCUMENT,
	),
	_written({"const": "created"}),
)

CHANGES = (
	_input_schema(
		{
			"doctype": DOCTYPE_ARGUMENT,
			"cursor": {**CURSOR_SCHEMA, "description": "next_cursor of the previous call; none to start"},
			"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
			"expand": EXPAND_SCHEMA,
		},
		["doctype"],
	),
	_output_schema({"doctype": {"type": "string"}, "changes": {"type": "array"}, **PAGE}),
)

CALL_METHOD = (
	_input_schema(
		{
			"method": {"type": "string", "description": "describe_resource lists yours"},
			"args": {"type": "object", "description": "Its arguments (describe_resource gives them)"},
			"save": {"type": "boolean", "default": False, "description": "Save the document it returns"},
			"submit": {"type": "boolean", "default": False, "description": "Save and submit it"},
			"data": {"type": "object", "description": "Changes to that document before it is saved"},
			IDEMPOTENCY_ARGUMENT: IDEMPOTENCY_SCHEMA,
		},
		["method"],
	),
	_output_schema({"method": {"type": "string"}, "result": {}}),
)

RUN_REPORT = (
	_input_schema(
		{
			"report": {"type": "string", "description": "describe_resource lists yours"},
			"filters": {"type": "object", "description": "As in the Desk (describe_resource gives them)"},
			"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
			"cursor": CURSOR_SCHEMA,
		},
		["report"],
	),
	_output_schema(
		{
			"report": {"type": "string"},
			"columns": {"type": "array"},
			"rows": {"type": "array"},
			"total": {"type": "object"},
			**PAGE,
		}
	),
)

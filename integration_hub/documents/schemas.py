"""JSON Schemas (2020-12, the dialect of OpenAPI 3.1 and MCP) of what a caller may read and write of an
exposed resource, derived from its field policy. The OpenAPI document and the MCP tools both use them,
so an assistant and an integration see the same fields, types and read-only markers."""

from integration_hub.documents.describe import METADATA_FIELD_TYPES
from integration_hub.documents.fields import FieldPolicy

JSON_TYPES = {
	"Int": {"type": "integer"},
	"Long Int": {"type": "integer"},
	"Check": {"type": "integer", "enum": [0, 1]},
	"Float": {"type": "number"},
	"Currency": {"type": "number"},
	"Percent": {"type": "number"},
	"Rating": {"type": "number"},
	"Duration": {"type": "number"},
	"Date": {"type": "string", "format": "date"},
	"Datetime": {"type": "string", "format": "date-time"},
	"Time": {"type": "string", "format": "time"},
	"JSON": {},
}

PROBLEM_SCHEMA = {
	"type": "object",
	"required": ["type", "title", "status", "code"],
	"properties": {
		"type": {"type": "string"},
		"title": {"type": "string"},
		"status": {"type": "integer"},
		"detail": {"type": "string"},
		"code": {"type": "string"},
		"exc_type": {"type": "string"},
		"errors": {
			"type": "array",
			"items": {
				"type": "object",
				"properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
			},
		},
	},
}


def schema_name(doctype: str) -> str:
	"""A schema name for a DocType: its words, title-cased and joined ("Sales Order" -> SalesOrder)."""
	return "".join(part for part in doctype.title().split() if part.isalnum()) or "Resource"


def record_schema(policy: FieldPolicy) -> dict:
	"""A document as the policy's user reads it: every readable field, child tables included; the fields
	it may not write are marked `readOnly`."""
	properties = {
		fieldname: _field_schema(fieldname, df, read_only=fieldname not in policy.writable)
		for fieldname, df in policy.readable.items()
	}
	for table, child_policy in policy.tables.items():
		properties[table] = {"type": "array", "items": record_schema(child_policy)}
	return {"type": "object", "properties": properties}


def writable_schema(policy: FieldPolicy, key_fields: tuple[str, ...] = ()) -> dict:
	"""A record as the policy's user may send it: the fields it may write, and the key fields that find
	the document; anything else is refused."""
	properties = {
		fieldname: _field_schema(fieldname, policy.readable.get(fieldname), read_only=False)
		for fieldname in dict.fromkeys((*key_fields, *policy.writable))
		if fieldname in policy.readable and fieldname not in policy.tables
	}
	for table, child_policy in policy.tables.items():
		if table in policy.writable:
			properties[table] = {"type": "array", "items": writable_schema(child_policy)}
	return {"type": "object", "properties": properties, "additionalProperties": False}


def _field_schema(fieldname: str, df, read_only: bool) -> dict:
	fieldtype = df.fieldtype if df is not None else METADATA_FIELD_TYPES.get(fieldname, "Data")
	schema = dict(JSON_TYPES.get(fieldtype, {"type": "string"}))
	if df is not None and df.fieldtype == "Select" and df.options:
		schema = {"type": "string", "enum": list(df.options.split("\n"))}
	if df is not None and df.label:
		schema["title"] = df.label
	if read_only:
		schema["readOnly"] = True
	return {"anyOf": [schema, {"type": "null"}]} if schema.get("type") else schema

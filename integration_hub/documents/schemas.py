"""JSON Schemas (2020-12, the dialect of OpenAPI 3.1 and MCP) of what a caller may read and write of an
exposed resource, derived from its field policy. The OpenAPI document and the MCP tools both use them,
so an assistant and an integration see the same fields, types and read-only markers."""

from integration_hub.documents.describe import METADATA_FIELD_TYPES
from integration_hub.documents.fields import VERSION_FIELD, FieldPolicy

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
		fieldname: _field_schema(fieldname, df, read_only=fieldname not in policy.writable, expandable=True)
		for fieldname, df in policy.readable.items()
	}
	for table, child_policy in policy.tables.items():
		properties[table] = {"type": "array", "items": record_schema(child_policy)}
	if "modified" in policy.readable:  # a document, not a child row
		properties[VERSION_FIELD] = VERSION_SCHEMA
	return {"type": "object", "properties": properties}


VERSION_SCHEMA = {
	"type": "string",
	"readOnly": True,
	"description": "The document's version (its ETag): send it back as If-Match, or as _version in a "
	"record, to refuse a write if someone changed the document meanwhile",
}
EXPECTED_VERSION_SCHEMA = {
	"type": "string",
	"description": "The version (_version) this write expects the document at: if it has changed "
	"since, nothing is written and the answer is 412 PRECONDITION_FAILED with the current version",
}
EXPAND_SCHEMA = {
	"type": "array",
	"items": {"type": "string"},
	"maxItems": 20,
	"description": "Link fields to answer with the linked document instead of its name: a Link field "
	"(customer), one inside a child table (items.item_code), or a link of a linked document "
	"(customer.territory), at most two links deep; a link you may not follow stays a name",
}


def writable_schema(
	policy: FieldPolicy, key_fields: tuple[str, ...] = (), *, expected_version: bool = False
) -> dict:
	"""A record as the policy's user may send it: the fields it may write, and the key fields that find
	the document (and, for upserts, the version it expects); anything else is refused."""
	properties = {
		fieldname: _field_schema(fieldname, policy.readable.get(fieldname), read_only=False)
		for fieldname in dict.fromkeys((*key_fields, *policy.writable))
		if fieldname in policy.readable and fieldname not in policy.tables
	}
	for fieldname in key_fields:  # a child table's field (`barcodes.barcode`): the key's value
		table, dot, child_field = fieldname.partition(".")
		if dot and table in policy.tables and child_field in policy.tables[table].readable:
			child_df = policy.tables[table].readable[child_field]
			properties[fieldname] = _field_schema(child_field, child_df, read_only=False)
	for table, child_policy in policy.tables.items():
		if table in policy.writable:
			properties[table] = {"type": "array", "items": writable_schema(child_policy)}
	if expected_version:
		properties[VERSION_FIELD] = EXPECTED_VERSION_SCHEMA
	return {"type": "object", "properties": properties, "additionalProperties": False}


def _field_schema(fieldname: str, df, read_only: bool, expandable: bool = False) -> dict:
	fieldtype = df.fieldtype if df is not None else METADATA_FIELD_TYPES.get(fieldname, "Data")
	schema = dict(JSON_TYPES.get(fieldtype, {"type": "string"}))
	if df is not None and df.fieldtype == "Select" and df.options:
		schema = {"type": "string", "enum": list(df.options.split("\n"))}
	if expandable and df is not None and df.fieldtype == "Link":
		schema = {
			"type": ["string", "object"],
			"description": f"{df.options}: a name, or the document if expanded",
		}
	if df is not None and df.label:
		schema["title"] = df.label
	if read_only:
		schema["readOnly"] = True
	return {"anyOf": [schema, {"type": "null"}]} if schema.get("type") else schema

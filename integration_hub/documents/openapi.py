"""An OpenAPI 3.1 description of `api.v1`, with a schema for each resource the caller may read."""

import frappe

import integration_hub
from integration_hub.documents.exposure import exposed_doctypes, get_resource, readable_resource
from integration_hub.documents.fields import field_policy
from integration_hub.documents.query import OPERATORS, ORDER_COLUMNS
from integration_hub.documents.schemas import PROBLEM_SCHEMA, record_schema, schema_name
from integration_hub.methods.calling import callable_methods
from integration_hub.methods.schemas import call_body_schema
from integration_hub.paths import API_BASE as BASE
from integration_hub.reports.running import runnable_reports
from integration_hub.reports.schemas import filters_schema
from integration_hub.security.oauth import scopes as oauth_scopes
from integration_hub.security.oauth import urls as oauth_urls


def build_document() -> dict:
	readable = [doctype for doctype in exposed_doctypes() if readable_resource(doctype)]
	schemas = {
		schema_name(doctype): record_schema(field_policy(get_resource(doctype))) for doctype in readable
	}
	schemas.update(_common_schemas(readable))
	schemas.update({f"ReportFilters_{report.name}": filters_schema(report) for report in runnable_reports()})
	return {
		"openapi": "3.1.0",
		"info": {
			"title": "integration_hub API",
			"version": integration_hub.__version__,
			"description": "The curated document API of this Frappe site. Errors are application/problem+json.",
		},
		"servers": [{"url": frappe.utils.get_url()}],
		"security": [{"token": []}, {"bearer": []}, {"oauth2": []}],
		"paths": _paths(),
		"components": {
			"schemas": schemas,
			"securitySchemes": {
				"token": {
					"type": "apiKey",
					"in": "header",
					"name": "Authorization",
					"description": "Frappe token authentication: `token api_key:api_secret`",
				},
				"bearer": {
					"type": "http",
					"scheme": "bearer",
					"description": "A Hub API key: `Bearer ihk_…`",
				},
				"oauth2": {
					"type": "oauth2",
					"description": "An assistant's sign-in, acting as the person who consented (PKCE S256)",
					"flows": {
						"authorizationCode": {
							"authorizationUrl": oauth_urls.endpoint_url("authorize"),
							"tokenUrl": oauth_urls.endpoint_url("token"),
							"refreshUrl": oauth_urls.endpoint_url("token"),
							"scopes": {
								scope: oauth_scopes.describe_scope(scope) for scope in oauth_scopes.SCOPES
							},
						}
					},
				},
			},
			"responses": {"Problem": _problem_response()},
		},
	}


def _common_schemas(doctypes: list[str]) -> dict:
	return {
		"Problem": PROBLEM_SCHEMA,
		"Doctype": {"type": "string", "enum": doctypes} if doctypes else {"type": "string"},
	}


def _problem_response() -> dict:
	return {
		"description": "An error, as RFC 9457 problem details",
		"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
	}


def _param(name: str, description: str, required: bool = False, schema: dict | None = None) -> dict:
	return {
		"name": name,
		"in": "query",
		"required": required,
		"description": description,
		"schema": schema or {"type": "string"},
	}


REQUEST_ID_HEADER = {
	"description": "The call's id: the client's own X-Request-Id if well-formed, else generated; also in "
	"problem bodies, the change feed's log and the events the call caused",
	"schema": {"type": "string"},
}
ETAG_HEADER = {"description": "The document's version, as a strong ETag", "schema": {"type": "string"}}


def _operation(
	summary: str,
	*,
	parameters=None,
	body: dict | None = None,
	idempotent: bool = False,
	conditional_read: bool = False,
	conditional_write: bool = False,
) -> dict:
	operation = {
		"summary": summary,
		"responses": {
			"200": {
				"description": "Success, inside Frappe's message envelope",
				"headers": {"X-Request-Id": REQUEST_ID_HEADER},
				"content": {
					"application/json": {"schema": {"type": "object", "properties": {"message": {}}}}
				},
			},
			"4XX": {"$ref": "#/components/responses/Problem"},
		},
	}
	parameters = list(parameters or [])
	parameters.append(
		{
			"name": "X-Request-Id",
			"in": "header",
			"required": False,
			"schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,200}$"},
			"description": "Your own id for this call (else one is generated)",
		}
	)
	if conditional_read:
		operation["responses"]["200"]["headers"]["ETag"] = ETAG_HEADER
		operation["responses"]["304"] = {
			"description": "Not modified: If-None-Match names the current version (no body)",
			"headers": {"ETag": ETAG_HEADER, "X-Request-Id": REQUEST_ID_HEADER},
		}
		parameters.append(_header("If-None-Match", "The ETag you hold: 304 if it is still current"))
	if conditional_write:
		operation["responses"]["412"] = {
			"description": "PRECONDITION_FAILED: the document is not at the expected version; the problem "
			"carries current_version and, if you may read it, current (the document); nothing was written",
			"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
		}
		parameters.append(_header("If-Match", "The version (_version / ETag) the write expects"))
	if idempotent:
		parameters.append(
			{
				"name": "Idempotency-Key",
				"in": "header",
				"required": False,
				"schema": {"type": "string", "maxLength": 255},
				"description": "Retries with the same key and body replay the first answer for 24 hours",
			}
		)
	if parameters:
		operation["parameters"] = parameters
	if body:
		operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
	return operation


SUBMIT_PROPERTY = {
	"type": "boolean",
	"default": False,
	"description": "Submit the written document in the same transaction (submittable DocTypes)",
}


def _record_body(data: dict, **more: dict) -> dict:
	"""The body of a single write: the doctype, the record (`data`) and any other properties."""
	return {
		"type": "object",
		"required": ["doctype", "data"],
		"properties": {"doctype": {"$ref": "#/components/schemas/Doctype"}, "data": data, **more},
	}


def _header(name: str, description: str) -> dict:
	return {
		"name": name,
		"in": "header",
		"required": False,
		"schema": {"type": "string"},
		"description": description,
	}


EXPAND_DESCRIPTION = (
	"JSON list of Link field paths to answer with the linked document (customer, items.item_code, "
	"customer.territory; at most two links deep)"
)


def _paths() -> dict:
	doctype = _param("doctype", "An exposed DocType", True, {"$ref": "#/components/schemas/Doctype"})
	doctype_property = {"$ref": "#/components/schemas/Doctype"}
	key_object = {"type": "object", "description": "Key-field values identifying one document"}
	return {
		f"{BASE}.ping": {"get": _operation("Who am I, and which versions run")},
		f"{BASE}.describe": {
			"get": _operation("Key fields, permitted operations and fields", parameters=[doctype])
		},
		f"{BASE}.get_document": {
			"get": _operation(
				"One document, with only the fields you may read",
				parameters=[
					doctype,
					_param("name", "The document name"),
					_param("key", "JSON object of key-field values"),
					_param("expand", EXPAND_DESCRIPTION),
				],
				conditional_read=True,
			)
		},
		f"{BASE}.list_documents": {
			"get": _operation(
				"A page of documents, keyset-paged",
				parameters=[
					doctype,
					_param("fields", "JSON list of fieldnames"),
					_param(
						"filters",
						f"JSON object or list of [field, operator, value]; operators: {', '.join(OPERATORS)}. "
						'A child table\'s field: "table.field" ({"barcodes.barcode": "…"}) or '
						"[table, field, operator, value]; a document matches when one of its rows does",
					),
					_param("order_by", "One of " + ", ".join(f"{c} asc|desc" for c in ORDER_COLUMNS)),
					_param("limit", "Page size", schema={"type": "integer", "minimum": 1}),
					_param("cursor", "next_cursor of the previous page"),
					_param("expand", EXPAND_DESCRIPTION + "; not inside child tables"),
				],
			)
		},
		f"{BASE}.upsert": {
			"post": _operation(
				"Create or update one document by its natural key",
				idempotent=True,
				body=_record_body(
					{"type": "object", "description": "The record; _version: the expected version"},
					key={"type": "array", "items": {"type": "string"}},
					submit=SUBMIT_PROPERTY,
				),
				conditional_write=True,
			)
		},
		f"{BASE}.create_document": {
			"post": _operation(
				"Create a document named by its DocType's rule (naming series, hash, autoincrement)",
				idempotent=True,
				body=_record_body({"type": "object"}, submit=SUBMIT_PROPERTY),
			)
		},
		f"{BASE}.bulk_upsert": {
			"post": _operation(
				"Upsert many documents with a result per record",
				idempotent=True,
				body={
					"type": "object",
					"required": ["doctype", "records"],
					"properties": {
						"doctype": doctype_property,
						"records": {"type": "array", "items": {"type": "object"}},
						"key": {"type": "array", "items": {"type": "string"}},
						"atomic": {"type": "boolean", "default": False},
						"mode": {"enum": ["upsert", "create"], "default": "upsert"},
						"submit": SUBMIT_PROPERTY,
					},
				},
			)
		},
		**{
			f"{BASE}.{name}": {
				"post": _operation(
					summary,
					idempotent=True,
					body={
						"type": "object",
						"required": ["doctype"],
						"properties": {
							"doctype": doctype_property,
							"name": {"type": "string"},
							"key": key_object,
							"if_match": {
								"type": "string",
								"description": "The expected version, as If-Match",
							},
							**extra,
						},
					},
					conditional_write=True,
				)
			}
			for name, summary, extra in (
				("delete_document", "Delete one document", {}),
				("submit_document", "Submit a draft of a submittable DocType", {}),
				("cancel_document", "Cancel a submitted document", {}),
				(
					"amend_document",
					"The amendment of a cancelled document: a new draft named after it, with data's changes",
					{"data": {"type": "object"}, "submit": SUBMIT_PROPERTY},
				),
			)
		},
		f"{BASE}.changes": {
			"get": _operation(
				"The change feed, deletions included, oldest first",
				parameters=[
					doctype,
					_param("cursor", "next_cursor of the previous page"),
					_param("limit", "Page size", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
					_param("expand", EXPAND_DESCRIPTION),
				],
			)
		},
		f"{BASE}.openapi": {"get": _operation("This document")},
		**_method_paths(),
		**_report_paths(),
	}


def _method_paths() -> dict:
	"""call_method, with one body schema per curated method this caller may call."""
	methods = callable_methods()
	if not methods:
		return {}
	names = ", ".join(method.name for method, _function in methods)
	return {
		f"{BASE}.call_method": {
			"post": _operation(
				f"Call a curated method as yourself ({names}); methods that return a new document can "
				"save and submit it in the same call",
				idempotent=True,
				body={"oneOf": [call_body_schema(method, function) for method, function in methods]},
			)
		}
	}


def _report_paths() -> dict:
	"""run_report, with each curated report's filters as a schema of its own (ReportFilters_<name>)."""
	reports = runnable_reports()
	if not reports:
		return {}
	listed = "; ".join(
		f"{report.name}: {report.description or report.report} (filters: #/components/schemas/ReportFilters_{report.name})"
		for report in reports
	)
	return {
		f"{BASE}.run_report": {
			"get": _operation(
				"Run a curated report as yourself: typed columns, rows as objects, paged",
				parameters=[
					_param("report", listed, True, {"type": "string", "enum": [r.name for r in reports]}),
					_param("filters", "JSON object of the report's filters (ReportFilters_<report>)"),
					_param(
						"limit", "Rows per page", schema={"type": "integer", "minimum": 1, "maximum": 1000}
					),
					_param("cursor", "next_cursor of the previous page"),
					_param("format", "json (default) or csv", schema={"enum": ["json", "csv"]}),
				],
			)
		}
	}

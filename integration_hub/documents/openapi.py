"""An OpenAPI 3.1 description of `api.v1`, with a schema for each resource the caller may read."""

import frappe

import integration_hub
from integration_hub.documents.exposure import authorize, exposed_doctypes, get_resource
from integration_hub.documents.fields import field_policy
from integration_hub.documents.query import OPERATORS, ORDER_COLUMNS
from integration_hub.documents.schemas import PROBLEM_SCHEMA, record_schema, schema_name
from integration_hub.exceptions import OperationNotPermitted
from integration_hub.paths import API_BASE as BASE


def build_document() -> dict:
	readable = [doctype for doctype in exposed_doctypes() if _may_read(doctype)]
	schemas = {
		schema_name(doctype): record_schema(field_policy(get_resource(doctype))) for doctype in readable
	}
	schemas.update(_common_schemas(readable))
	return {
		"openapi": "3.1.0",
		"info": {
			"title": "integration_hub API",
			"version": integration_hub.__version__,
			"description": "The curated document API of this Frappe site. Errors are application/problem+json.",
		},
		"servers": [{"url": frappe.utils.get_url()}],
		"security": [{"token": []}, {"bearer": []}],
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
				"bearer": {"type": "http", "scheme": "bearer"},
			},
			"responses": {"Problem": _problem_response()},
		},
	}


def _may_read(doctype: str) -> bool:
	try:
		authorize(get_resource(doctype), "read")
	except OperationNotPermitted:
		return False
	return True


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


def _operation(summary: str, *, parameters=None, body: dict | None = None, idempotent: bool = False) -> dict:
	operation = {
		"summary": summary,
		"responses": {
			"200": {
				"description": "Success, inside Frappe's message envelope",
				"content": {
					"application/json": {"schema": {"type": "object", "properties": {"message": {}}}}
				},
			},
			"4XX": {"$ref": "#/components/responses/Problem"},
		},
	}
	parameters = list(parameters or [])
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
				],
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
						f"JSON object or list of [field, operator, value]; operators: {', '.join(OPERATORS)}",
					),
					_param("order_by", "One of " + ", ".join(f"{c} asc|desc" for c in ORDER_COLUMNS)),
					_param("limit", "Page size", schema={"type": "integer", "minimum": 1}),
					_param("cursor", "next_cursor of the previous page"),
				],
			)
		},
		f"{BASE}.upsert": {
			"post": _operation(
				"Create or update one document by its natural key",
				idempotent=True,
				body={
					"type": "object",
					"required": ["doctype", "data"],
					"properties": {
						"doctype": doctype_property,
						"data": {"type": "object"},
						"key": {"type": "array", "items": {"type": "string"}},
					},
				},
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
					},
				},
			)
		},
		f"{BASE}.delete_document": {
			"post": _operation(
				"Delete one document",
				idempotent=True,
				body={
					"type": "object",
					"required": ["doctype"],
					"properties": {
						"doctype": doctype_property,
						"name": {"type": "string"},
						"key": key_object,
					},
				},
			)
		},
		f"{BASE}.changes": {
			"get": _operation(
				"The change feed, deletions included, oldest first",
				parameters=[
					doctype,
					_param("cursor", "next_cursor of the previous page"),
					_param("limit", "Page size", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
				],
			)
		},
		f"{BASE}.openapi": {"get": _operation("This document")},
	}

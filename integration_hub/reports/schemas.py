"""A curated report's filters as JSON Schema, for OpenAPI and MCP."""

from integration_hub.reports.catalog import HubReport, ReportFilter

NUMBER_TYPES = ("Float", "Currency", "Percent")


def filters_schema(report: HubReport) -> dict:
	schema = {
		"type": "object",
		"description": "The report's filters, as in the Desk",
		"properties": {f.fieldname: filter_schema(f) for f in report.filters},
	}
	required = [f.fieldname for f in report.filters if f.required]
	if required:
		schema["required"] = required
	return schema


def filter_schema(report_filter: ReportFilter) -> dict:
	fieldtype, options = report_filter.fieldtype, report_filter.options
	description = report_filter.label
	if fieldtype == "Check":
		schema = {"type": ["boolean", "integer"]}
	elif fieldtype == "Int":
		schema = {"type": "integer"}
	elif fieldtype in NUMBER_TYPES:
		schema = {"type": "number"}
	elif fieldtype == "Date":
		schema = {"type": "string", "format": "date"}
	elif fieldtype in ("MultiSelectList", "MultiSelect"):
		schema = {"type": ["array", "string"], "items": {"type": "string"}}
	elif fieldtype == "Select" and options:
		schema = {"type": "string", "enum": [o for o in options.split("\n")]}
	else:
		schema = {"type": "string"}
		if fieldtype in ("Link", "Dynamic Link") and options:
			description = f"{description} (a {options})"
	return {**schema, "description": description}

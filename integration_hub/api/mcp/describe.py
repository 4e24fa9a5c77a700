"""What a caller may use, as a model reads it well: `describe_resource` and `resources/read`.

Without arguments: the caller's resources (with its operations on each), curated methods and reports.
With `method` or `report`: that one's arguments or filters, as JSON Schema. With `doctype`: the
resource, as below.

The API's `describe` lists every field with every attribute: 42 KB for ERPNext's Sales Invoice. A
model needs the fields a person fills in, so by default this answers those (the key fields, mandatory
fields, fields shown in the list view, and the Link fields one may set), each as a few words (type,
options, required, read only), and child tables with the same choice of their fields. The rest comes
by name (`fields`) or all at once (`all_fields`). Permissions are the API's: the fields are those the
caller may read (`documents/fields.py`), and `read_only` says which it may not write.
"""

import frappe
from frappe import _

from integration_hub.api.mcp.caller import caller_view
from integration_hub.documents.exposure import authorize, get_resource, permitted_operations
from integration_hub.documents.fields import FieldPolicy, field_policy
from integration_hub.documents.naming import generates_names
from integration_hub.exceptions import BadRequest, MethodNotExposed, ReportNotExposed
from integration_hub.methods.calling import callable_methods
from integration_hub.methods.schemas import call_properties
from integration_hub.reports.running import runnable_reports
from integration_hub.reports.schemas import filters_schema
from integration_hub.security.api_keys import SCOPE_OPERATIONS

LINK_TYPES = frozenset(("Link", "Dynamic Link"))
OPTIONS_TYPES = frozenset(("Link", "Dynamic Link", "Table", "Table MultiSelect"))
MAX_REQUESTED_FIELDS = 200
SHORT_DESCRIPTION = 160


def describe(
	doctype: object = None,
	fields: object = None,
	all_fields: object = False,
	method: object = None,
	report: object = None,
	**unknown,
) -> dict:
	"""What the caller may use, or one resource, method or report of it."""
	if unknown:
		raise BadRequest(
			_("Unknown argument: {0}").format(", ".join(unknown)),
			[{"pointer": f"/{name}"} for name in unknown],
		)
	if sum(argument is not None for argument in (doctype, method, report)) > 1:
		raise BadRequest(_("Describe one doctype, method or report at a time"), [{"pointer": ""}])
	if method is not None:
		return describe_method(method)
	if report is not None:
		return describe_report(report)
	if doctype is None:
		return {"resources": your_resources(), "methods": your_methods(), "reports": your_reports()}
	requested = _requested_fields(fields)
	if not isinstance(all_fields, bool):
		raise BadRequest(_("all_fields must be true or false"), [{"pointer": "/all_fields"}])
	resource = get_resource(doctype)
	authorize(resource, "read")
	policy = field_policy(resource)
	chosen = Choice(resource.key_fields, requested, all_fields)
	unknown = [name for name in requested if not _known(policy, name)]
	if unknown:
		raise BadRequest(
			_("{0} has no field you may read named {1}").format(resource.doctype, ", ".join(unknown)),
			[{"pointer": f"/fields/{requested.index(name)}"} for name in unknown],
		)
	fields_shown, more = _fields(policy, chosen, "")
	description = {
		"doctype": resource.doctype,
		"key_fields": list(resource.key_fields),
		"operations": permitted_operations(resource),
		"submittable": bool(frappe.get_meta(resource.doctype).is_submittable),
		"generated_names": generates_names(resource.doctype),
		"max_page_size": resource.max_page_size,
		"max_batch_size": resource.max_batch_size,
		"fields": fields_shown,
		"tables": _tables(policy, chosen),
	}
	if more:
		description["more_fields"] = more
	return description


def your_resources() -> list[dict]:
	view = caller_view()
	return [
		{"doctype": doctype, "operations": [op for op in SCOPE_OPERATIONS if view.allows(doctype, op)]}
		for doctype in view.resources
	]


def your_methods() -> list[dict]:
	return [
		{"method": method.name, "description": short(method.description or method.path)}
		for method, _function in callable_methods()
	]


def your_reports() -> list[dict]:
	return [
		{"report": report.name, "description": short(report.description or report.report)}
		for report in runnable_reports()
	]


def describe_method(name: object) -> dict:
	found = next(((m, f) for m, f in callable_methods() if m.name == name), None)
	if found is None:
		raise MethodNotExposed(_("There is no method {0} you may call").format(str(name)[:140]))
	method, function = found
	return {
		"method": method.name,
		"description": method.description or method.path,
		"only_reads": bool(method.only_reads),
		"returns_doctype": method.returns_doctype or None,
		"arguments": {"type": "object", "properties": call_properties(method, function)},
	}


def describe_report(name: object) -> dict:
	report = next((r for r in runnable_reports() if r.name == name), None)
	if report is None:
		raise ReportNotExposed(_("There is no report {0} you may run").format(str(name)[:140]))
	return {
		"report": report.name,
		"title": report.report,
		"description": report.description or report.report,
		"filters": filters_schema(report),
	}


def short(description: str) -> str:
	"""A description's first line, cut at SHORT_DESCRIPTION: a docstring can be pages long."""
	line = description.strip().split("\n", 1)[0]
	return line if len(line) <= SHORT_DESCRIPTION else line[: SHORT_DESCRIPTION - 1].rstrip() + "…"


class Choice:
	"""Which fields a description shows: the defaults, those asked for by name, or all."""

	def __init__(self, key_fields: tuple[str, ...], requested: list[str], everything: bool) -> None:
		self.key_fields = frozenset(key_fields)
		self.requested = frozenset(requested)
		self.everything = everything

	def shows(self, path: str, df, policy: FieldPolicy, fieldname: str) -> bool:
		if (
			self.everything
			or path in self.requested
			or (not path.count(".") and fieldname in self.key_fields)
		):
			return True
		if df is None:  # name, modified…: the API's own columns, described once in the tool's text
			return False
		return bool(
			df.reqd
			or df.in_list_view
			or (df.fieldtype in LINK_TYPES and fieldname in policy.writable and not df.hidden)
		)

	def opens(self, table: str, df) -> bool:
		"""A child table's fields are shown when it is mandatory, asked for, or one of its fields is."""
		return (
			self.everything
			or (df is not None and df.reqd)
			or table in self.requested
			or any(name.startswith(f"{table}.") for name in self.requested)
		)


def _fields(policy: FieldPolicy, chosen: Choice, prefix: str) -> tuple[dict, int]:
	shown, more = {}, 0
	for fieldname, df in policy.readable.items():
		if chosen.shows(prefix + fieldname, df, policy, fieldname):
			shown[fieldname] = _field(fieldname, df, fieldname in policy.writable)
		else:
			more += 1
	return shown, more


def _field(fieldname: str, df, writable: bool) -> dict:
	if df is None:
		return {"type": "Datetime" if fieldname in ("creation", "modified") else "Data", "read_only": True}
	entry = {"type": df.fieldtype}
	if df.label and df.label != frappe.unscrub(fieldname):
		entry["label"] = _(df.label)
	if df.fieldtype in OPTIONS_TYPES and df.options:
		entry["options"] = df.options
	elif df.fieldtype == "Select" and df.options:
		entry["options"] = [choice for choice in df.options.split("\n") if choice]
	if df.reqd:
		entry["required"] = True
	if not writable:
		entry["read_only"] = True
	return entry


def _tables(policy: FieldPolicy, chosen: Choice) -> dict:
	meta = frappe.get_meta(policy.doctype)
	tables = {}
	for table, child_policy in policy.tables.items():
		df = meta.get_field(table)
		entry = {"doctype": child_policy.doctype}
		if df is not None and df.reqd:
			entry["required"] = True
		if table not in policy.writable:
			entry["read_only"] = True
		if chosen.opens(table, df):
			entry["fields"], more = _fields(child_policy, _child_choice(chosen, table), f"{table}.")
		else:
			entry["fields"], more = {}, len(child_policy.readable)
		if more:
			entry["more_fields"] = more
		tables[table] = entry
	return tables


def _child_choice(chosen: Choice, table: str) -> Choice:
	"""Inside a table: its rows have no key fields, and asking for the table shows its usual fields."""
	return Choice((), [name for name in chosen.requested if name.startswith(f"{table}.")], chosen.everything)


def _known(policy: FieldPolicy, name: str) -> bool:
	table, _dot, child_field = name.partition(".")
	if not child_field:
		return policy.may_read(name)
	return table in policy.tables and child_field in policy.tables[table].readable


def _requested_fields(fields: object) -> list[str]:
	if fields is None:
		return []
	if (
		not isinstance(fields, list)
		or len(fields) > MAX_REQUESTED_FIELDS
		or not all(isinstance(name, str) for name in fields)
	):
		raise BadRequest(
			_("fields must be a list of at most {0} fieldnames").format(MAX_REQUESTED_FIELDS),
			[{"pointer": "/fields"}],
		)
	return fields

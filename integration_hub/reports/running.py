"""Running a curated report as the caller, through the Desk's own entry point
(`frappe.desk.query_report.run`): the report's roles, the report permission on its DocType, the
filters' link permissions and User Permissions on its rows apply exactly as in the Desk. The hub adds
the key's scope, a check of the filters, typed columns, rows as objects and paging.

A report has no paging of its own: each page runs it again and takes its slice, so a page follows the
report as it is when it is read (a report that changes between pages may shift its rows).
"""

import csv
import io
import json
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.desk.query_report import run as run_desk_report

from integration_hub.documents.cursor import decode_cursor, encode_cursor, fingerprint
from integration_hub.documents.query import parse_limit
from integration_hub.exceptions import BadRequest, OperationNotPermitted
from integration_hub.reports.catalog import HubReport, enabled_reports, get_report, report_refusal
from integration_hub.security.api_keys import current_key, key_reports, require_report_scope

DEFAULT_ROWS = 100
MAX_ROWS = 1000
COLUMN_KEYS = ("fieldname", "label", "fieldtype", "options")


@dataclass
class ReportPage:
	report: str
	columns: list[dict]
	rows: list[dict]
	total: dict | None
	next_cursor: str | None

	def as_dict(self) -> dict:
		page = {"report": self.report, "columns": self.columns, "rows": self.rows}
		if self.total is not None:
			page["total"] = self.total
		return {**page, "next_cursor": self.next_cursor, "has_more": self.next_cursor is not None}

	def as_csv(self) -> str:
		"""The page's rows under a header of the columns' fieldnames (the total row is left out)."""
		out = io.StringIO()
		writer = csv.writer(out)
		fieldnames = [column["fieldname"] for column in self.columns]
		writer.writerow(fieldnames)
		for row in self.rows:
			writer.writerow(["" if row.get(f) is None else row.get(f) for f in fieldnames])
		return out.getvalue()


def runnable_reports() -> list[HubReport]:
	"""The enabled reports this caller may run (a key: those it lists; the report's roles are checked
	when it runs)."""
	key = current_key()
	allowed = key_reports(key) if key is not None else None
	return [report for report in enabled_reports().values() if allowed is None or report.name in allowed]


def run_report(
	name: object, filters: dict | None, limit: object = None, cursor: str | None = None
) -> ReportPage:
	report = get_report(name)
	require_report_scope(report.name)
	if refusal := report_refusal(report.report):
		raise OperationNotPermitted(
			_("{0} cannot be run through the hub: {1}").format(report.name, refusal),
			[{"pointer": "/report", "detail": refusal}],
		)
	filters = check_filters(report, filters or {})
	size = parse_limit(limit, MAX_ROWS, DEFAULT_ROWS)
	binding = fingerprint(report=report.name, filters=filters, user=frappe.session.user)
	offset = int(decode_cursor(cursor, binding).get("offset", 0)) if cursor else 0
	result = run_desk_report(
		report.report, filters=filters, ignore_prepared_report=True, are_default_filters=False
	)
	columns = [_column(column) for column in result.get("columns") or []]
	rows = [_row(row, columns) for row in result.get("result") or []]
	total = rows.pop() if result.get("add_total_row") and rows else None
	page = rows[offset : offset + size]
	more = offset + size < len(rows)
	return ReportPage(
		report=report.name,
		columns=columns,
		rows=json.loads(frappe.as_json(page, indent=None)),
		total=json.loads(frappe.as_json(total, indent=None)) if total is not None else None,
		next_cursor=encode_cursor(binding, {"offset": offset + size}) if more else None,
	)


def check_filters(report: HubReport, filters: dict) -> dict:
	"""The caller's filters, or BadRequest (400) naming each required one that is missing and, where the
	report's filters are known, each one the report does not have."""
	known = {f.fieldname: f for f in report.filters}
	errors = [
		{"pointer": f"/filters/{name}", "detail": _("not a filter of this report")}
		for name in filters
		if known and name not in known
	]
	errors += [
		{"pointer": f"/filters/{f.fieldname}", "detail": _("required")}
		for f in report.filters
		if f.required and filters.get(f.fieldname) in (None, "", [])
	]
	if errors:
		raise BadRequest(_("The report's filters are not valid"), errors)
	return filters


def _column(column: dict) -> dict:
	return {key: column.get(key) or ("Data" if key == "fieldtype" else None) for key in COLUMN_KEYS}


def _row(row: object, columns: list[dict]) -> dict:
	"""A row as an object of the columns' fieldnames (a report may answer lists), with its tree
	indent where the report has one."""
	if isinstance(row, list | tuple):
		return {column["fieldname"]: value for column, value in zip(columns, row, strict=False)}
	shaped = {column["fieldname"]: row.get(column["fieldname"]) for column in columns}
	if row.get("indent") is not None:
		shaped["indent"] = row.get("indent")
	return shaped

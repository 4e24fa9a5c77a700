"""Which reports the hub runs: one Hub Report per report, the administrator's curation, with the
filters callers pass (read from the report's own definition, editable)."""

from dataclasses import dataclass

import frappe
from frappe import _

from integration_hub.curation import cached_enabled
from integration_hub.exceptions import ReportNotExposed

ENABLED_REPORTS_CACHE_KEY = "integration_hub:enabled_reports_v1"
RUNNABLE_TYPES = ("Query Report", "Script Report")


@dataclass(frozen=True)
class ReportFilter:
	fieldname: str
	label: str
	fieldtype: str
	options: str
	required: bool


@dataclass(frozen=True)
class HubReport:
	name: str  # the public name callers use
	report: str  # the Report it runs
	description: str
	filters: tuple[ReportFilter, ...]


def get_report(name: object) -> HubReport:
	"""The enabled report of that public name, or ReportNotExposed (404) whoever asks."""
	report = enabled_reports().get(name) if isinstance(name, str) and name else None
	if report is None:
		raise ReportNotExposed(
			_("{0} is not a report exposed through the integration hub").format(frappe.bold(str(name)[:140])),
			[{"pointer": "/report", "detail": _("not an exposed report")}],
		)
	return report


def enabled_reports() -> dict[str, HubReport]:
	return cached_enabled(ENABLED_REPORTS_CACHE_KEY, "Hub Report", _read_enabled_reports)


def _read_enabled_reports() -> dict[str, HubReport]:
	reports = {}
	for name in frappe.get_all("Hub Report", filters={"enabled": 1}, pluck="name", order_by="name asc"):
		config = frappe.get_doc("Hub Report", name)
		reports[name] = HubReport(
			name=name,
			report=config.report,
			description=config.description or "",
			filters=tuple(
				ReportFilter(
					row.fieldname,
					row.label or row.fieldname,
					row.fieldtype or "Data",
					row.options or "",
					bool(row.required),
				)
				for row in config.filters
			),
		)
	return reports


def report_refusal(report_name: str) -> str | None:
	"""Why the hub will not run the Report `report_name`, or None."""
	report = frappe.db.get_value("Report", report_name, ["report_type", "disabled"], as_dict=True)
	if report is None:
		return _("there is no such report")
	if report.report_type not in RUNNABLE_TYPES:
		return _(
			"it is a {0}; the hub runs Query and Script Reports (list documents with list_documents)"
		).format(_(report.report_type))
	if report.disabled:
		return _("the report is disabled")
	return None

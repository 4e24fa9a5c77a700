"""A report's filters as its own definition declares them: a standard report's filters live in its
JavaScript (`frappe.query_reports["Stock Balance"] = {filters: [...]}`), which the Desk runs; the
server has no other record of them. They are read from that file when an administrator exposes the
report, best effort, and kept in the Hub Report, where the administrator can correct them."""

import os
import re

import frappe
from frappe.modules import get_module_path, scrub

FILTERS_START = re.compile(r"\bfilters\s*:\s*\[")
FIELDNAME = re.compile(r"""\bfieldname\s*:\s*["'](\w+)["']""")
LABEL = re.compile(r"""\blabel\s*:\s*(?:__\(\s*)?["']([^"']+)["']""")
FIELDTYPE = re.compile(r"""\bfieldtype\s*:\s*["']([\w ]+)["']""")
OPTIONS = re.compile(r"""\boptions\s*:\s*["']([^"']*)["']""")
OPTION_LIST = re.compile(r"""\boptions\s*:\s*\[([^\]]*)\]""")
REQUIRED = re.compile(r"\breqd\s*:\s*(1|true)\b")


def declared_filters(report_name: str) -> list[dict]:
	"""The filters the report's script declares: fieldname, label, fieldtype, options, required."""
	report = frappe.get_doc("Report", report_name)
	script = _script(report)
	filters = [_filter(chunk) for chunk in _filter_chunks(script)]
	for row in report.get("filters") or []:  # a non-standard report's filters, defined in the Desk
		filters.append(
			{
				"fieldname": row.fieldname,
				"label": row.label,
				"fieldtype": row.fieldtype,
				"options": row.options or "",
				"required": int(row.mandatory or 0),
			}
		)
	return filters


def _script(report) -> str:
	if report.is_standard == "Yes":
		folder = os.path.join(get_module_path(report.module), "report", scrub(report.name))
		path = os.path.join(folder, f"{scrub(report.name)}.js")
		if os.path.exists(path):
			with open(path, encoding="utf-8") as script:
				return script.read()
	return report.get("javascript") or ""


def _filter_chunks(script: str) -> list[str]:
	"""The text of each object in the first `filters: [...]` list, split at each `fieldname`."""
	start = FILTERS_START.search(script)
	if not start:
		return []
	end = _closing_bracket(script, start.end() - 1)
	region = script[start.end() : end]
	starts = [match.start() for match in FIELDNAME.finditer(region)]
	chunks = []
	for index, position in enumerate(starts):
		begin = region.rfind("{", 0, position)
		finish = starts[index + 1] if index + 1 < len(starts) else len(region)
		chunks.append(region[max(begin, 0) : finish])
	return chunks


def _closing_bracket(text: str, opening: int) -> int:
	depth, quote = 0, None
	for position in range(opening, len(text)):
		char = text[position]
		if quote:
			if char == quote and text[position - 1] != "\\":
				quote = None
		elif char in "\"'`":
			quote = char
		elif char in "[{(":
			depth += 1
		elif char in "]})":
			depth -= 1
			if depth == 0:
				return position
	return len(text)


def _filter(chunk: str) -> dict:
	fieldtype = _first(FIELDTYPE, chunk) or "Data"
	options = _first(OPTIONS, chunk)
	if options is None and (listed := OPTION_LIST.search(chunk)):
		options = "\n".join(re.findall(r"""["']([^"']*)["']""", listed.group(1)))
	return {
		"fieldname": _first(FIELDNAME, chunk),
		"label": _first(LABEL, chunk),
		"fieldtype": fieldtype,
		"options": options or "",
		"required": int(bool(REQUIRED.search(chunk))),
	}


def _first(pattern: re.Pattern, text: str) -> str | None:
	match = pattern.search(text)
	return match.group(1) if match else None

"""JSON text: compact encoding of what the hub writes (`dumps`), and parsing what others send (`loads`).

Before text is parsed, its nesting depth is checked without recursion. Python's json module is
recursive and fails past about a thousand levels; anything that walks a parsed value recursively
fails sooner. The limit is the site config `integration_hub_max_json_depth`
(default 32).
"""

import json
import re

import frappe
from frappe import _
from frappe.utils.response import json_handler

from integration_hub.exceptions import BadRequest

DEFAULT_MAX_JSON_DEPTH = 32
# Kept: json.dumps with any argument builds an encoder a call. Compact, so that the C encoder runs
# (with an indent, as frappe.as_json has, Python encodes in pure Python); dates as Frappe's responses.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=json_handler)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # brackets inside strings do not nest
_BRACKET = re.compile(r"[\[\]{}]")


def dumps(value: object) -> str:
	"""Compact JSON, with dates, decimals and the like as Frappe's responses write them."""
	return _ENCODER.encode(value)


def max_json_depth() -> int:
	return int(frappe.conf.get("integration_hub_max_json_depth") or DEFAULT_MAX_JSON_DEPTH)


def nested_deeper_than(text: str, limit: int) -> bool:
	"""Whether the arrays and objects of JSON `text` nest more than `limit` levels deep."""
	if text.count("[") + text.count("{") <= limit:
		return False  # too few brackets, whatever their order
	depth = 0
	for bracket in _BRACKET.finditer(_STRING.sub("", text)):
		if bracket.group() in "[{":
			depth += 1
			if depth > limit:
				return True
		else:
			depth -= 1
	return False


def too_deep_problem(text: str, max_depth: int | None = None) -> str | None:
	"""Why `text` may not be parsed (nested too deeply), or None."""
	limit = max_depth if max_depth is not None else max_json_depth()
	if nested_deeper_than(text, limit):
		return _("nested more than {0} levels deep").format(limit)
	return None


def loads(text: str, what: str, pointer: str = "", max_depth: int | None = None) -> object:
	"""Parse `text`, or BadRequest naming `what` (e.g. "The body", "filters") and why."""
	problem = too_deep_problem(text, max_depth)
	if problem is None:
		try:
			return json.loads(text)
		except ValueError:
			problem = _("not valid JSON")
	raise BadRequest(_("{0}: {1}").format(what, problem), [{"pointer": pointer, "detail": problem}])

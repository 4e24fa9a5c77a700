"""The transforms a field-map row may name (the `transform` options of Hub Sync Field Map, which are
their one list: Frappe refuses a row naming any other), applied to one value on its way in or out.
`constant` and `lookup` need the whole map and live in field_maps.py."""

import datetime
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import get_datetime, get_system_timezone, getdate

from integration_hub.documents.validation import is_whole_number
from integration_hub.exceptions import MappingError

TRUE_WORDS = frozenset(("1", "true", "yes", "y", "on"))
FALSE_WORDS = frozenset(("0", "false", "no", "n", "off", ""))


def transform_value(transform: str, value: object) -> object:
	"""Apply one of the documented transforms (not constant or lookup) to a single value."""
	if not transform:
		return value
	if transform == "bool":
		return _to_bool(value)
	if value is None:
		return None
	converter = _CONVERTERS.get(transform)
	if converter is None:
		raise MappingError(_("Unknown transform {0}").format(transform))
	try:
		return converter(value)
	except (ValueError, TypeError, OverflowError, frappe.ValidationError):
		raise MappingError(_("{0} cannot be converted by {1}").format(repr(value)[:140], transform))


def _to_bool(value: object) -> int:
	if value is None or isinstance(value, bool):
		return int(bool(value))
	if isinstance(value, int | float) and value in (0, 1):
		return int(value)
	if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
		return int(value.strip().lower() in TRUE_WORDS)
	raise MappingError(_("{0} is not a yes/no value").format(repr(value)[:140]))


def _to_int(value: object) -> int:
	if is_whole_number(value):
		return int(value)
	raise ValueError(value)


def _to_float(value: object) -> float:
	if isinstance(value, bool) or not isinstance(value, int | float | str):
		raise ValueError(value)
	return float(value)


def _to_date(value: object) -> str:
	if isinstance(value, datetime.datetime):
		value = _naive_local(value)
	if not isinstance(value, str | datetime.date):
		raise ValueError(value)
	return getdate(value).isoformat()


def _to_datetime(value: object) -> str:
	if not isinstance(value, str | datetime.datetime | datetime.date):
		raise ValueError(value)
	parsed = get_datetime(value)
	if parsed is None:
		raise ValueError(value)
	return _naive_local(parsed).strftime("%Y-%m-%d %H:%M:%S.%f")


def _naive_local(value: datetime.datetime) -> datetime.datetime:
	if value.tzinfo is None:
		return value
	return value.astimezone(ZoneInfo(get_system_timezone())).replace(tzinfo=None)


def _text(operation):
	def convert(value: object) -> str:
		if isinstance(value, dict | list):
			raise ValueError(value)
		return operation(value if isinstance(value, str) else str(value))

	return convert


_CONVERTERS = {
	"str": _text(lambda text: text),
	"int": _to_int,
	"float": _to_float,
	"date": _to_date,
	"datetime": _to_datetime,
	"lower": _text(str.lower),
	"upper": _text(str.upper),
	"strip": _text(str.strip),
}

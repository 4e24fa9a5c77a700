"""Filters, order and keyset paging over exposed DocTypes, through `frappe.get_list`.

Filters may only name fields the caller may read (a filter on a hidden field would let a caller probe
its values), operators come from a fixed set, and values are passed to Frappe as values, never as SQL.
Paging is keyset paging on (order column, name): a page deep in a large table costs what the first
page costs, and the order is total, so no row is repeated or skipped between pages.
"""

from dataclasses import dataclass

import frappe
from frappe import _

from integration_hub.documents.cursor import decode_cursor, encode_cursor, fingerprint
from integration_hub.documents.exposure import Resource
from integration_hub.documents.fields import VERSION_FIELD, FieldPolicy
from integration_hub.documents.versions import document_version
from integration_hub.exceptions import BadRequest

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "like", "not like", "in", "not in", "between", "is")
ORDER_COLUMNS = ("modified", "creation", "name")
DEFAULT_ORDER = "modified asc"
DEFAULT_LIMIT = 20
MAX_FILTERS = 50
MAX_LIST_VALUES = 1000
SCALAR_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class Order:
	column: str
	direction: str  # "asc" | "desc"

	def __str__(self) -> str:
		return f"{self.column} {self.direction}"


@dataclass
class Page:
	rows: list[dict]
	next_cursor: str | None
	has_more: bool


def parse_filters(raw: object, policy: FieldPolicy) -> list[list]:
	"""Validate caller filters into Frappe's `[doctype, fieldname, operator, value]` form.

	A filter names a field of the DocType (`"status"`) or of one of its child tables (`"barcodes.barcode"`
	in an object; `["barcodes", "barcode", "=", value]`, or Frappe's own `[child DocType, field, ...]`, in a
	list): the document matches when one of its rows does. Only fields the caller may read can be named.
	"""
	if raw is None or raw == "" or raw == [] or raw == {}:
		return []
	if isinstance(raw, dict):
		items = [[fieldname, *_dict_condition(value)] for fieldname, value in raw.items()]
		pointers = [f"/filters/{_escape_pointer(str(fieldname))}" for fieldname in raw]
	elif isinstance(raw, list):
		items, pointers = raw, [f"/filters/{index}" for index in range(len(raw))]
	else:
		raise BadRequest(
			_("filters must be an object or a list of [field, operator, value]"),
			errors=[{"pointer": "/filters", "detail": _("expected an object or a list")}],
		)
	if len(items) > MAX_FILTERS:
		raise BadRequest(_("At most {0} filters are allowed").format(MAX_FILTERS), [{"pointer": "/filters"}])
	conditions = []
	for item, pointer in zip(items, pointers, strict=True):
		conditions.extend(_parse_condition(item, pointer, policy))
	return conditions


def _dict_condition(value: object) -> list:
	# {"status": "Open"} means equality; {"status": ["!=", "Closed"]} names the operator.
	if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and value[0] in OPERATORS:
		return list(value)
	return ["=", value]


def _parse_condition(item: object, pointer: str, policy: FieldPolicy) -> list[list]:
	if not isinstance(item, list | tuple) or len(item) not in (3, 4):
		raise BadRequest(
			_("Each filter must be [field, operator, value] or [child table, field, operator, value]"),
			errors=[{"pointer": pointer, "detail": _("expected [field, operator, value]")}],
		)
	if len(item) == 4:
		table, fieldname, operator, value = item
		field_pointer = f"{pointer}/1"
	else:
		fieldname, operator, value = item
		table, field_pointer = None, f"{pointer}/0"
		if isinstance(fieldname, str) and "." in fieldname:
			table, fieldname = fieldname.split(".", 1)
	target = _filtered_table(policy, table, fieldname, pointer, field_pointer)
	operator_pointer = f"{pointer}/{len(item) - 2}"
	if not isinstance(operator, str) or operator.lower() not in OPERATORS:
		raise BadRequest(
			_("Unknown filter operator {0}; use one of: {1}").format(
				frappe.bold(str(operator)[:40]), ", ".join(OPERATORS)
			),
			errors=[{"pointer": operator_pointer, "detail": _("unknown operator")}],
		)
	operator = operator.lower()
	_validate_value(operator, value, f"{pointer}/{len(item) - 1}")
	if target is None:
		return [[policy.doctype, fieldname, operator, value]]
	table, child_doctype = target
	# Frappe joins a child DocType's rows by parent and parenttype only: the table field keeps a filter
	# on one table from matching the rows of another table of the same child DocType.
	return [[child_doctype, "parentfield", "=", table], [child_doctype, fieldname, operator, value]]


def _filtered_table(
	policy: FieldPolicy, table: object, fieldname: object, pointer: str, field_pointer: str
) -> tuple[str, str] | None:
	"""The (table field, child DocType) a filter names, or None for a field of the DocType itself;
	BadRequest unless the caller may read the field."""
	if table is None or table == policy.doctype:
		if isinstance(fieldname, str) and fieldname in policy.readable:
			return None
		raise _unreadable_filter(fieldname, policy.doctype, field_pointer)
	tables = {name: child for name, child in policy.tables.items() if table in (name, child.doctype)}
	if not isinstance(table, str) or not tables:
		raise BadRequest(
			_("Cannot filter on {0}: it is not a child table of {1} that you may read").format(
				frappe.bold(str(table)[:140]), policy.doctype
			),
			errors=[{"pointer": f"{pointer}/0", "detail": _("not a readable child table")}],
		)
	if len(tables) > 1:
		raise BadRequest(
			_("{0} is the DocType of several child tables of {1}; name the table field: {2}").format(
				frappe.bold(table), policy.doctype, ", ".join(sorted(tables))
			),
			errors=[{"pointer": f"{pointer}/0", "detail": _("ambiguous child table")}],
		)
	((name, child),) = tables.items()
	if not isinstance(fieldname, str) or fieldname not in child.readable:
		raise _unreadable_filter(f"{name}.{fieldname}", policy.doctype, field_pointer)
	return name, child.doctype


def _unreadable_filter(fieldname: object, doctype: str, pointer: str) -> BadRequest:
	return BadRequest(
		_("Cannot filter on {0}: it is not a readable field of {1}").format(
			frappe.bold(str(fieldname)[:140]), doctype
		),
		errors=[{"pointer": pointer, "detail": _("not a readable field")}],
	)


def _validate_value(operator: str, value: object, pointer: str) -> None:
	def refuse(detail: str):
		raise BadRequest(
			_("Invalid filter value: {0}").format(detail), [{"pointer": pointer, "detail": detail}]
		)

	if operator in ("in", "not in"):
		if not isinstance(value, list) or len(value) > MAX_LIST_VALUES:
			refuse(_("expected a list of at most {0} values").format(MAX_LIST_VALUES))
		if not all(isinstance(v, SCALAR_TYPES) for v in value):
			refuse(_("expected a list of strings or numbers"))
	elif operator == "between":
		if not (
			isinstance(value, list) and len(value) == 2 and all(isinstance(v, SCALAR_TYPES) for v in value)
		):
			refuse(_("expected a list of two values"))
	elif operator == "is":
		if value not in ("set", "not set"):
			refuse(_("expected 'set' or 'not set'"))
	elif operator in ("like", "not like"):
		if not isinstance(value, str):
			refuse(_("expected a string pattern"))
	elif value is not None and not isinstance(value, SCALAR_TYPES):
		refuse(_("expected a string, a number, a boolean or null"))


def parse_order(raw: object) -> Order:
	text = DEFAULT_ORDER if raw in (None, "") else raw
	parts = text.split() if isinstance(text, str) else []
	if len(parts) == 1:
		parts.append("asc")
	if len(parts) != 2 or parts[0] not in ORDER_COLUMNS or parts[1].lower() not in ("asc", "desc"):
		raise BadRequest(
			_("order_by must be one of {0}, each followed by asc or desc").format(", ".join(ORDER_COLUMNS)),
			errors=[{"pointer": "/order_by", "detail": _("unsupported order")}],
		)
	return Order(parts[0], parts[1].lower())


def parse_fields(raw: object, policy: FieldPolicy) -> list[str]:
	if raw in (None, "", []):
		return policy.scalar_readable()
	if isinstance(raw, str):
		raw = [part.strip() for part in raw.split(",") if part.strip()]
	if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
		raise BadRequest(_("fields must be a list of fieldnames"), [{"pointer": "/fields"}])
	for index, fieldname in enumerate(raw):
		if fieldname not in policy.readable:
			raise BadRequest(
				_("Cannot return {0}: it is not a readable field of {1}").format(
					frappe.bold(fieldname[:140]), policy.doctype
				),
				errors=[{"pointer": f"/fields/{index}", "detail": _("not a readable field")}],
			)
	return list(dict.fromkeys(["name", *raw]))


def parse_limit(raw: object, maximum: int, default: int = DEFAULT_LIMIT) -> int:
	if raw in (None, ""):
		return min(default, maximum)
	try:
		limit = int(raw)
	except (TypeError, ValueError):
		limit = 0
	if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()) or limit < 1:
		raise BadRequest(_("limit must be a positive whole number"), [{"pointer": "/limit"}])
	return min(limit, maximum)


def list_page(
	resource: Resource,
	policy: FieldPolicy,
	*,
	fields: list[str],
	filters: list[list],
	order: Order,
	limit: int,
	cursor: str | None,
) -> Page:
	"""One page of documents the caller may read, after `cursor`, through Frappe's permission engine."""
	binding = fingerprint(
		kind="list", doctype=resource.doctype, filters=filters, order=str(order), user=frappe.session.user
	)
	conditions, either = list(filters), []
	if cursor:
		after, either = _after(resource.doctype, order, decode_cursor(cursor, binding))
		conditions.extend(after)
	select = list(dict.fromkeys([*fields, order.column, "name", "modified"]))  # modified: the version
	table = f"`tab{resource.doctype}`"
	rows = frappe.get_list(
		resource.doctype,
		fields=select,
		or_filters=either,
		order_by=f"{table}.`{order.column}` {order.direction}, {table}.`name` {order.direction}",
		limit_page_length=limit + 1,
		**list_conditions(resource.doctype, conditions),
	)
	has_more = len(rows) > limit
	rows = rows[:limit]
	next_cursor = None
	if has_more:
		last = rows[-1]
		next_cursor = encode_cursor(binding, {"k": str(last[order.column]), "n": last["name"]})
	wanted = set(fields)
	return Page([_versioned_row(row, wanted, policy) for row in rows], next_cursor, has_more)


def _versioned_row(row: dict, wanted: set[str], policy: FieldPolicy) -> dict:
	shaped = {k: v for k, v in row.items() if k in wanted}
	shaped[VERSION_FIELD] = document_version(policy.doctype, row["name"], row["modified"], policy)
	return shaped


def _after(doctype: str, order: Order, position: dict) -> tuple[list[list], list[list]]:
	"""The keyset condition 'after this row' as Frappe filters (all of the first list, and one of the
	second): `column >= key and (column > key or name > last name)`, which an index on the column
	serves. Values go to Frappe as values, never as SQL."""
	key, name = position.get("k"), position.get("n")
	if not isinstance(key, str) or not isinstance(name, str):
		raise BadRequest(_("The cursor is malformed"), [{"pointer": "/cursor"}])
	beyond = ">" if order.direction == "asc" else "<"
	if order.column == "name":
		return [[doctype, "name", beyond, name]], []
	return (
		[[doctype, order.column, f"{beyond}=", key]],
		[[doctype, order.column, beyond, key], [doctype, "name", beyond, name]],
	)


def list_conditions(doctype: str, filters: list[list]) -> dict:
	"""`frappe.get_list` arguments for filters in parse_filters' form: a document that several child
	rows match is still one row of the answer."""
	joins_child_table = any(condition[0] != doctype for condition in filters)
	return {"filters": filters, "group_by": f"`tab{doctype}`.`name`" if joins_child_table else None}


def _escape_pointer(token: str) -> str:
	return token.replace("~", "~0").replace("/", "~1")

"""Field maps: how a remote record becomes a local one (Pull) and a local document a remote record
(Push), with a small, documented set of transforms.

Each row of a job's field map names a remote field (a dotted path reaches into nested JSON), a local
field, an optional transform and whether the pair is part of the key that identifies a record on
both sides. A transform applies to the value on its way in (Pull) or out (Push):

	str, int, float   convert, refusing values that do not convert exactly ("12abc" is not an int)
	bool              true/false, yes/no, on/off, 1/0 (any case) -> 1 or 0
	date, datetime    parse ISO and common formats -> "YYYY-MM-DD" / "YYYY-MM-DD HH:MM:SS.ffffff";
	                  a datetime with a UTC offset is converted to the site's time zone
	lower, upper, strip   on text
	constant          always the argument, whatever the record holds (no remote field needed)
	lookup            argument "DocType.fieldname": Pull finds the DocType whose fieldname equals the
	                  value and stores its name (a Link); Push sends that field of the linked document

A value that cannot be transformed fails its record (422 with a pointer to the field), it is never
stored half-converted. Lookups read through the session user's permissions.
"""

from dataclasses import dataclass, field

import frappe
from frappe import _

from integration_hub.documents.exposure import BATCH_SIZE_LIMIT, OPERATIONS, PAGE_SIZE_LIMIT, Resource
from integration_hub.exceptions import MappingError
from integration_hub.mapping.transforms import transform_value

# Bookkeeping of child rows that a mapped table never copies from one site to another.
CHILD_ROW_METADATA = frozenset(
	(
		"name",
		"idx",
		"parent",
		"parenttype",
		"parentfield",
		"doctype",
		"owner",
		"creation",
		"modified",
		"modified_by",
		"docstatus",
	)
)


@dataclass(frozen=True)
class FieldRule:
	remote_field: str
	local_field: str
	transform: str = ""
	argument: str = ""
	is_key: bool = False


@dataclass
class FieldMap:
	rules: list[FieldRule]
	_lookups: dict = field(default_factory=dict)

	@classmethod
	def from_rows(cls, rows) -> "FieldMap":
		return cls(
			[
				FieldRule(
					remote_field=(row.remote_field or "").strip(),
					local_field=(row.local_field or "").strip(),
					transform=row.transform or "",
					argument=row.transform_argument or "",
					is_key=bool(row.is_key),
				)
				for row in rows
			]
		)

	@property
	def key_local_fields(self) -> tuple[str, ...]:
		return tuple(rule.local_field for rule in self.rules if rule.is_key)

	@property
	def key_remote_fields(self) -> tuple[str, ...]:
		return tuple(rule.remote_field for rule in self.rules if rule.is_key)

	@property
	def local_fields(self) -> list[str]:
		return [rule.local_field for rule in self.rules]

	@property
	def remote_fields(self) -> list[str]:
		"""The top-level remote fields the map reads (what to ask a Frappe remote for)."""
		names = [rule.remote_field.split(".", 1)[0] for rule in self.rules if rule.transform != "constant"]
		return list(dict.fromkeys(names))

	def to_local(self, record: dict) -> dict:
		"""The local values for a remote record (Pull)."""
		values, errors = {}, []
		for rule in self.rules:
			try:
				value = rule.argument if rule.transform == "constant" else get_path(record, rule.remote_field)
				values[rule.local_field] = self._transform(rule, value, inbound=True)
			except MappingError as e:
				errors.append({"pointer": f"/{rule.remote_field or rule.local_field}", "detail": e.detail})
		_raise_if(errors)
		return values

	def to_remote(self, doc: dict) -> dict:
		"""The remote record for a local document (Push)."""
		record, errors = {}, []
		for rule in self.rules:
			if not rule.remote_field:
				continue
			try:
				value = rule.argument if rule.transform == "constant" else doc.get(rule.local_field)
				set_path(record, rule.remote_field, self._transform(rule, value, inbound=False))
			except MappingError as e:
				errors.append({"pointer": f"/{rule.local_field}", "detail": e.detail})
		_raise_if(errors)
		return record

	def _transform(self, rule: FieldRule, value: object, inbound: bool) -> object:
		if rule.transform == "constant":
			return rule.argument
		if rule.transform == "lookup":
			return self._lookup(rule.argument, value, inbound)
		if isinstance(value, list):
			return [_copy_row(row) for row in value]
		return transform_value(rule.transform, value)

	def _lookup(self, argument: str, value: object, inbound: bool) -> object:
		if value in (None, ""):
			return None
		doctype, fieldname = parse_lookup(argument)
		cache_key = (doctype, fieldname, inbound, value)
		if cache_key not in self._lookups:
			if inbound:
				found = frappe.get_list(
					doctype, filters={fieldname: value}, pluck="name", limit_page_length=2
				)
			else:
				found = frappe.get_list(
					doctype, filters={"name": value}, pluck=fieldname, limit_page_length=2
				)
			if len(found) != 1:
				raise MappingError(
					_("No single {0} with {1} = {2} that the job's user may read").format(
						doctype, fieldname if inbound else "name", str(value)[:140]
					)
				)
			self._lookups[cache_key] = found[0]
		return self._lookups[cache_key]


def mapped_resource(doctype: str, fieldmap: FieldMap, extra_fields: tuple[str, ...] = ()) -> Resource:
	"""The view of `doctype` that a sync job or an inbound endpoint writes through: the fields of its
	map, with every operation its Run As user's own permissions allow. The map is the administrator's
	curation, whether or not the DocType is also exposed through the API (whose Hub Resource governs
	outside callers, not the administrator's own jobs)."""
	return Resource(
		doctype=doctype,
		operations=frozenset(OPERATIONS),
		key_fields=fieldmap.key_local_fields,
		allowlist=frozenset((*fieldmap.local_fields, *extra_fields)),
		max_page_size=PAGE_SIZE_LIMIT,
		max_batch_size=BATCH_SIZE_LIMIT,
	)


def parse_lookup(argument: str) -> tuple[str, str]:
	doctype, dot, fieldname = (argument or "").rpartition(".")
	if not dot or not doctype.strip() or not fieldname.strip():
		raise MappingError(
			_("A lookup needs the argument DocType.fieldname, not {0}").format(argument or _("nothing"))
		)
	return doctype.strip(), fieldname.strip()


def _copy_row(row: object) -> object:
	"""A child-table row without the other site's bookkeeping (name, parent, idx...)."""
	if not isinstance(row, dict):
		return row
	return {key: value for key, value in row.items() if key not in CHILD_ROW_METADATA}


def get_path(record: object, path: str) -> object:
	"""The value at a dotted path of a JSON object, or None when any part is missing."""
	value = record
	for part in path.split("."):
		if not isinstance(value, dict):
			return None
		value = value.get(part)
	return value


def set_path(record: dict, path: str, value: object) -> None:
	parts = path.split(".")
	for part in parts[:-1]:
		record = record.setdefault(part, {})
	record[parts[-1]] = value


def _raise_if(errors: list[dict]) -> None:
	if errors:
		raise MappingError(
			_("{0} field(s) could not be mapped: {1}").format(
				len(errors), ", ".join(e["pointer"] for e in errors[:10])
			),
			errors=errors,
		)

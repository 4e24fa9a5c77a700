"""A curated method's arguments, read from its signature: what a caller may pass, as JSON Schema for
OpenAPI and MCP, and the check of a call's arguments before the method runs.

Arguments that switch Frappe's checks off (`ignore_permissions`, `ignore_mandatory`, any `ignore_*`, and
`flags`) are never taken from a caller: they are left out of the schema and a call that sends one is
refused. ERPNext's `make_sales_invoice(source_name, target_doc=None, ignore_permissions=False)` is
whitelisted with such an argument.
"""

import functools
import inspect
import types
import typing
from dataclasses import dataclass

from frappe import _

from integration_hub.exceptions import BadRequest

JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
PYTHON_TYPES = {
	"string": (str,),
	"integer": (int,),
	"number": (int, float),
	"boolean": (bool,),
	"object": (dict,),
	"array": (list,),
	"null": (type(None),),
}


@dataclass(frozen=True)
class Argument:
	name: str
	required: bool
	schema: dict


def is_permission_switch(name: str) -> bool:
	return name.startswith("ignore_") or name == "flags"


@functools.cache  # a function's signature does not change while the process runs
def method_arguments(function) -> tuple[tuple[Argument, ...], bool]:
	"""The arguments a caller may pass, and whether the function takes any others (`**kwargs`)."""
	signature = _signature(function)
	arguments, takes_more = [], False
	for parameter in signature.parameters.values():
		if parameter.kind is parameter.VAR_KEYWORD:
			takes_more = True
			continue
		if parameter.kind is parameter.VAR_POSITIONAL or is_permission_switch(parameter.name):
			continue
		schema = _schema_of(parameter.annotation)
		if parameter.default is not parameter.empty and parameter.default is not None:
			if isinstance(parameter.default, str | int | float | bool):
				schema = {**schema, "default": parameter.default}
		arguments.append(Argument(parameter.name, parameter.default is parameter.empty, schema))
	return tuple(arguments), takes_more


def arguments_schema(function) -> dict:
	arguments, takes_more = method_arguments(function)
	schema = {
		"type": "object",
		"properties": {argument.name: argument.schema for argument in arguments},
		"additionalProperties": takes_more,
	}
	required = [argument.name for argument in arguments if argument.required]
	if required:
		schema["required"] = required
	return schema


def describe_arguments(function) -> str:
	"""One line per argument, for the Desk: `source_name (required)`, `posting_date: string`."""
	arguments, takes_more = method_arguments(function)
	lines = []
	for argument in arguments:
		kind = argument.schema.get("type")
		kind = " | ".join(kind) if isinstance(kind, list) else kind
		lines.append(
			f"{argument.name}{': ' + kind if kind else ''}{' (required)' if argument.required else ''}"
		)
	if takes_more:
		lines.append(_("… and any other named argument"))
	return "\n".join(lines) or _("No arguments")


def check_arguments(function, given: dict | None, pointer: str = "/args") -> dict:
	"""The call's arguments, or BadRequest (400) naming each one that is unknown, not allowed, missing
	or of the wrong JSON type."""
	given = given or {}
	arguments, takes_more = method_arguments(function)
	known = {argument.name: argument for argument in arguments}
	errors = []
	for name, value in given.items():
		if is_permission_switch(name):
			errors.append({"pointer": f"{pointer}/{name}", "detail": _("never taken from a caller")})
		elif name in known:
			if problem := _type_problem(known[name], value):
				errors.append({"pointer": f"{pointer}/{name}", "detail": problem})
		elif not takes_more:
			errors.append({"pointer": f"{pointer}/{name}", "detail": _("not an argument of this method")})
	for argument in arguments:
		if argument.required and argument.name not in given:
			errors.append({"pointer": f"{pointer}/{argument.name}", "detail": _("required")})
	if errors:
		raise BadRequest(_("The method's arguments are not valid"), errors)
	return dict(given)


def _signature(function) -> inspect.Signature:
	try:
		return inspect.signature(function, eval_str=True)
	except Exception:  # an annotation that names something this process cannot import
		return inspect.signature(function)


def _schema_of(annotation: object) -> dict:
	"""JSON Schema for a type hint: the JSON types it admits; {} (anything) without a hint."""
	if annotation is inspect.Parameter.empty or annotation is typing.Any:
		return {}
	json_types = _json_types(annotation)
	if not json_types:
		return {}
	return {"type": json_types[0] if len(json_types) == 1 else json_types}


def _json_types(annotation: object) -> list[str]:
	if annotation is None or annotation is type(None):
		return ["null"]
	origin = typing.get_origin(annotation)
	if origin in (typing.Union, types.UnionType):
		found = []
		for member in typing.get_args(annotation):
			member_types = _json_types(member)
			if not member_types:
				return []  # a member of any type: the union admits anything
			found.extend(t for t in member_types if t not in found)
		return found
	json_type = JSON_TYPES.get(origin or annotation)
	return [json_type] if json_type else []


def _type_problem(argument: Argument, value: object) -> str | None:
	allowed = argument.schema.get("type")
	if allowed is None or (value is None and not argument.required):  # null: the default
		return None
	allowed = [allowed] if isinstance(allowed, str) else allowed
	for json_type in allowed:
		python_types = PYTHON_TYPES[json_type]
		if isinstance(value, python_types) and not (isinstance(value, bool) and json_type != "boolean"):
			return None
	return _("must be {0}").format(" or ".join(allowed))

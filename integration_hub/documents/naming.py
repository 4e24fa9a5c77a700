"""What a key of `name` means when no document has that name yet: whether a new document may take it.

Frappe v15 names a new document by the first rule that applies (frappe/model/naming.py):

| Naming rule of the DocType                          | Creating by a given `name`                           |
| --------------------------------------------------- | ---------------------------------------------------- |
| Set by user (`prompt`)                              | the document takes the given name                    |
| Random (`hash`, or no rule)                         | the document takes the given name (as Data Import)   |
| By fieldname (`field:f`)                            | the name is f's value: f is set to the given name   |
|                                                     | when absent, and must equal it when given            |
| Autoincrement                                       | refused: the database numbers these documents        |
| Naming Series, Expression, `format:`, a Document    | refused: the name is generated, and a given one      |
| Naming Rule, or By script (the controller's         | would collide with a later generated name            |
| `autoname`)                                         |                                                      |

A refusal is a 422 that says which key to use instead, raised before anything is written: a key of
`name` on such a DocType can only update documents that exist.
"""

import frappe
from frappe import _
from frappe.model.base_document import get_controller
from frappe.model.naming import is_autoincremented

from integration_hub.documents.fields import FieldPolicy
from integration_hub.exceptions import ValidationFailed

HONOURED = ("prompt", "hash", "")


def name_for_new_document(doctype: str, values: dict, policy: FieldPolicy, pointer: str) -> str | None:
	"""The name to give a new document created by a key of `name` (None: Frappe's rule names it from
	the values, which this may complete); ValidationFailed where the DocType generates its names."""
	name = values["name"]
	meta = frappe.get_meta(doctype)
	autoname = (meta.autoname or "").strip()
	if autoname.lower().startswith("field:"):
		_name_from_field(autoname[len("field:") :], values, policy, pointer)
		return None
	if generates_names(doctype):
		raise ValidationFailed(
			_(
				"{0} names new documents itself ({1}), so none can be created by a given name: leave name "
				"out (create_document), or key the records by a field that identifies them (Hub Resource "
				"Key Fields, or the key argument)"
			).format(doctype, _rule_label(meta, doctype)),
			errors=[{"pointer": f"{pointer}/name", "detail": _("no document has this name")}],
		)
	return name


def generates_names(doctype: str) -> bool:
	"""Whether new documents of `doctype` are named by the DocType (series, autoincrement, format,
	script...) rather than by a given name or a field: such documents are made with create_document."""
	meta = frappe.get_meta(doctype)
	autoname = (meta.autoname or "").strip()
	if autoname.lower().startswith("field:"):
		return False
	return is_autoincremented(doctype, meta) or autoname.lower() not in HONOURED or _named_by_code(doctype)


def _name_from_field(fieldname: str, values: dict, policy: FieldPolicy, pointer: str) -> None:
	name, given = values["name"], values.get(fieldname)
	if given in (None, ""):
		if fieldname not in policy.writable:
			raise ValidationFailed(
				_("New {0} documents are named by {1}, which you may not write").format(
					policy.doctype, fieldname
				),
				errors=[{"pointer": f"{pointer}/{fieldname}", "detail": _("field is read-only for you")}],
			)
		values[fieldname] = name
	elif str(given).strip() != str(name).strip():
		raise ValidationFailed(
			_("New {0} documents are named by {1}: name and {1} must be the same").format(
				policy.doctype, fieldname
			),
			errors=[{"pointer": f"{pointer}/name", "detail": _("differs from {0}").format(fieldname)}],
		)


def _named_by_code(doctype: str) -> bool:
	"""A Document Naming Rule or the controller's `autoname` names new documents before `autoname`."""
	if frappe.db.exists("Document Naming Rule", {"document_type": doctype, "disabled": 0}):
		return True
	return callable(getattr(get_controller(doctype), "autoname", None))


def _rule_label(meta, doctype: str) -> str:
	if is_autoincremented(doctype, meta):
		return _("Autoincrement")
	if _named_by_code(doctype):
		return _("by script or a Document Naming Rule")
	return meta.naming_rule or meta.autoname

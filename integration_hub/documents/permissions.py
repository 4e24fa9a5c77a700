"""A document's permission, as Frappe's `has_permission(doctype, ptype, doc=doc)` answers it, without
its cost when nothing about the document can change the answer.

Frappe decides a document's permission from four things (frappe/permissions.py): the DocType's
`has_permission` hooks, the user's role permissions (where an `if_owner` rule makes the document's
owner matter), the user's User Permissions (matched against the document's links), and, only when
those refuse, sharing. Where the DocType has no hook, the user has no User Permission and the roles
grant the permission without an owner rule, every document of the DocType is granted alike: that is
answered from Frappe's own per-request cache of role permissions, instead of Frappe's document check
(which deep-copies those permissions each time, about 75 µs here). Every other case, and every
refusal, is Frappe's own check.

The decision for a DocType, permission type and user is remembered beside Frappe's cache of role
permissions (`frappe.local.role_permissions`), so it is forgotten exactly when Frappe forgets those (a
new request or job, another session user, `frappe.clear_cache` after a change of roles or DocType
permissions), and also when a User Permission is saved or deleted in this process (`forget_decisions`).
Another process's User Permission change reaches a running request as late as Frappe's own cached User
Permissions do (frappe.local.cache): at its next request.
"""

import frappe
from frappe.permissions import get_role_permissions

# Decided by more than roles: whether the DocType is submittable or importable, whether sharing is on.
_NOT_BY_ROLES_ALONE = ("submit", "import", "share")


def has_document_permission(doc, ptype: str = "read", user: str | None = None) -> bool:
	"""Whether `user` (the session user by default) has `ptype` on `doc`: Frappe's answer."""
	user = user or frappe.session.user
	if _granted_for_every_document(doc.doctype, ptype, user):
		return True
	return frappe.has_permission(doc.doctype, ptype, doc=doc, user=user)


def has_doctype_permission(doctype: str, ptype: str) -> bool:
	"""Whether the session user may `ptype` on some documents of `doctype`: Frappe's DocType-level
	answer, or True where an owner rule (`if_owner`) grants it on the user's own documents, which
	Frappe's DocType-level answer leaves out for writing and deleting (its Desk lets such a user edit
	what they own). Each document's own permission then decides, as Frappe's save and delete ask it."""
	if frappe.has_permission(doctype, ptype):
		return True
	if ptype in _NOT_BY_ROLES_ALONE:
		return False
	owners = get_role_permissions(frappe.get_meta(doctype), user=frappe.session.user, is_owner=True)
	return bool(owners.get("has_if_owner_enabled") and owners.get("if_owner", {}).get(ptype))


def no_document_rules(doctype: str, user: str | None = None) -> bool:
	"""Neither a `has_permission` hook of the DocType nor a User Permission of the user can refuse one
	document of `doctype` that the user's roles allow (User Permissions are checked on links, child
	rows included, so any of them counts)."""
	from frappe.core.doctype.user_permission.user_permission import get_user_permissions

	hooks = frappe.get_hooks("has_permission")
	return not (hooks.get(doctype) or hooks.get("*")) and not get_user_permissions(
		user or frappe.session.user
	)


_DECISIONS = "integration_hub:granted_for_every_document"  # its key in frappe.local.role_permissions


def forget_decisions(doc=None, method: str | None = None) -> None:
	"""A User Permission changed: decide again (doc_events hook)."""
	getattr(frappe.local, "role_permissions", {}).pop(_DECISIONS, None)


def _granted_for_every_document(doctype: str, ptype: str, user: str) -> bool:
	if ptype in _NOT_BY_ROLES_ALONE:
		return False
	cache = getattr(frappe.local, "role_permissions", None)
	if cache is None:
		return _decide_for_every_document(doctype, ptype, user)
	decisions = cache.setdefault(_DECISIONS, {})
	key = (doctype, ptype, user)
	if key not in decisions:
		decisions[key] = _decide_for_every_document(doctype, ptype, user)
	return decisions[key]


def _decide_for_every_document(doctype: str, ptype: str, user: str) -> bool:
	if not no_document_rules(doctype, user):
		return False
	meta = frappe.get_meta(doctype)
	if meta.istable:
		return False  # a child row's permission is its parent's: Frappe's own check decides
	# A non-owner's permissions: an owner has at least these.
	permissions = get_role_permissions(meta, user=user, is_owner=False)
	owner_only = permissions.get("has_if_owner_enabled") and ptype in permissions.get("if_owner", {})
	return bool(permissions.get(ptype)) and not owner_only

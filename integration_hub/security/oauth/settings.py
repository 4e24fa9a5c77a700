"""Who may connect AI assistants, and for how long tokens live: Hub Assistant Settings."""

import frappe
from frappe.utils import cint

SETTINGS = "Hub Assistant Settings"
DEFAULT_ACCESS_TOKEN_MINUTES = 60
DEFAULT_REFRESH_TOKEN_DAYS = 30
CODE_SECONDS = 300  # an authorization code is exchanged within seconds; RFC 6749 advises 10 minutes at most


def assistant_settings():
	return frappe.get_cached_doc(SETTINGS)


def allowed_roles() -> set[str]:
	return {row.role for row in assistant_settings().allowed_roles}


def may_connect(user: str) -> bool:
	"""Whether `user` may sign an assistant in (and its tokens still act): one of the chosen roles.
	No role chosen, nobody may: an administrator decides who connects assistants."""
	return bool(allowed_roles() & set(frappe.get_roles(user)))


def access_token_seconds() -> int:
	return 60 * (cint(assistant_settings().access_token_minutes) or DEFAULT_ACCESS_TOKEN_MINUTES)


def refresh_token_seconds() -> int:
	return 86400 * (cint(assistant_settings().refresh_token_days) or DEFAULT_REFRESH_TOKEN_DAYS)


def registration_allowed() -> bool:
	return bool(cint(assistant_settings().allow_dynamic_registration))


def metadata_documents_allowed() -> bool:
	return bool(cint(assistant_settings().allow_metadata_documents))

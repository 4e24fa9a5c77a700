"""Which whitelisted methods the hub exposes: one Hub Method per method, the administrator's curation.

A method is exposed only if Frappe itself would run it for a logged-in user at `/api/method/<path>`
(whitelisted, and not open to guests) and it does not step around the hub's curated document API: the
generic document and list endpoints (`frappe.client.*`, `run_doc_method`, report and list views) would
let a key reach DocTypes, fields and operations that the resources and scopes do not give it. The same
rules are checked when a Hub Method is saved and again on every call, so code that changed since it
was saved cannot slip through.
"""

from dataclasses import dataclass

import frappe
from frappe import _

from integration_hub.curation import cached_enabled
from integration_hub.exceptions import MethodNotExposed

ENABLED_METHODS_CACHE_KEY = "integration_hub:enabled_methods_v1"
# Whole modules that are generic ways into documents, sessions and the hub's own management.
FORBIDDEN_PREFIXES = (
	"frappe.client.",
	"frappe.handler.",
	"frappe.desk.reportview.",
	"frappe.desk.query_report.",
	"frappe.desk.form.",
	"frappe.desk.search.",
	"frappe.desk.listview.",
	"frappe.desk.doctype.bulk_update.",
	"frappe.model.",
	"frappe.core.",
	"frappe.auth.",
	"frappe.sessions.",
	"frappe.integrations.oauth2.",
	"frappe.website.",
	"frappe.www.",
	"integration_hub.",
)
# Generic document runners, wherever an app defines them.
FORBIDDEN_NAMES = frozenset(("run_doc_method", "runserverobj", "savedocs", "submitdocs", "cancel"))


@dataclass(frozen=True)
class HubMethod:
	name: str  # the public name callers use
	path: str  # the dotted path of the whitelisted function
	description: str
	only_reads: bool
	returns_doctype: str | None


def get_method(name: object) -> HubMethod:
	"""The enabled method of that public name, or MethodNotExposed (404) whoever asks."""
	method = enabled_methods().get(name) if isinstance(name, str) and name else None
	if method is None:
		raise MethodNotExposed(
			_("{0} is not a method exposed through the integration hub").format(frappe.bold(str(name)[:140])),
			[{"pointer": "/method", "detail": _("not an exposed method")}],
		)
	return method


def enabled_methods() -> dict[str, HubMethod]:
	"""Every enabled method by public name. It is configuration, not a caller's data: read whole, as
	exposure.py reads the resources."""
	return cached_enabled(ENABLED_METHODS_CACHE_KEY, "Hub Method", _read_enabled_methods)


def _read_enabled_methods() -> dict[str, HubMethod]:
	rows = frappe.get_all(
		"Hub Method",
		filters={"enabled": 1},
		fields=["name", "method_path", "description", "only_reads", "returns_doctype"],
		order_by="name asc",
	)
	return {
		row.name: HubMethod(
			name=row.name,
			path=row.method_path,
			description=row.description or "",
			only_reads=bool(row.only_reads),
			returns_doctype=row.returns_doctype or None,
		)
		for row in rows
	}


def clear_methods_cache() -> None:
	frappe.cache.delete_value(ENABLED_METHODS_CACHE_KEY)


def resolve(path: str):
	"""The function a path runs (after the site's `override_whitelisted_methods`, as Frappe's own
	/api/method resolves it), or None with the reason it cannot be exposed."""
	reason = path_refusal(path)
	if reason:
		return None, reason
	effective = _overridden(path)
	if effective != path and (reason := path_refusal(effective)):
		return None, reason
	try:
		function = frappe.get_attr(effective)
	except Exception:
		return None, _("there is no such method on this site")
	# frappe.whitelisted and frappe.guest_methods are the registries @frappe.whitelist fills and
	# Frappe's own handler checks (frappe.is_whitelisted); the same on 15.44.2 and 15.75.0 (tests/methods).
	if function not in frappe.whitelisted:
		return None, _("it is not whitelisted: Frappe would not run it for an HTTP caller either")
	if function in frappe.guest_methods:
		return None, _("it is open to guests (allow_guest): call it without the hub")
	return function, None


def _overridden(path: str) -> str:
	"""The method a site runs for `path`: the last of its apps' `override_whitelisted_methods` hooks, as
	Frappe's handler picks it (15.75 has frappe.override_whitelisted_method for this; 15.44 does not)."""
	overrides = frappe.get_hooks("override_whitelisted_methods", {}).get(path) or []
	return overrides[-1] if overrides else path


def path_refusal(path: str) -> str | None:
	parts = (path or "").split(".")
	if len(parts) < 2 or not all(part.isidentifier() for part in parts):
		return _("a method is the dotted path of a Python function, as in /api/method/<path>")
	if path.startswith(FORBIDDEN_PREFIXES) or parts[-1] in FORBIDDEN_NAMES:
		return _(
			"it would step around the hub's curated API (documents go through Hub Resources, reports "
			"through the hub's reports)"
		)
	return None

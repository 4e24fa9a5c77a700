"""Which DocTypes the API exposes, and what it allows on each: the administrator's curation.

The policy is a Hub Resource record per DocType. It is configuration, not the caller's data, so it is
read from Frappe's document cache (invalidated whenever a Hub Resource is saved) and never filtered
by the caller's permissions; the caller's permissions are checked separately, on every call.
"""

import contextlib
import pickle
from collections.abc import Iterator
from dataclasses import dataclass

import frappe
from frappe import _

from integration_hub.documents.permissions import has_doctype_permission
from integration_hub.exceptions import OperationNotPermitted, ResourceNotExposed
from integration_hub.security.api_keys import require_scope

OPERATIONS = ("read", "create", "update", "delete", "submit", "cancel")
PAGE_SIZE_LIMIT = 1000
BATCH_SIZE_LIMIT = 1000


@dataclass(frozen=True)
class Resource:
	doctype: str
	operations: frozenset[str]
	key_fields: tuple[str, ...]
	allowlist: frozenset[str] | None  # None: every field the caller may read
	max_page_size: int
	max_batch_size: int

	def allows(self, operation: str) -> bool:
		return operation in self.operations


def get_resource(doctype: object) -> Resource:
	"""The exposure of `doctype`, or ResourceNotExposed (404) whatever the caller's roles."""
	resource = _enabled_resources().get(doctype) if isinstance(doctype, str) and doctype else None
	if resource is None:
		raise ResourceNotExposed(
			_("{0} is not exposed through the integration hub API").format(frappe.bold(str(doctype)[:140])),
			errors=[{"pointer": "/doctype", "detail": _("not an exposed resource")}],
		)
	return resource


def _resource(config) -> Resource:
	return Resource(
		doctype=config.name,
		operations=frozenset(op for op in OPERATIONS if config.get(f"allow_{op}")),
		key_fields=parse_key_fields(config.key_fields),
		allowlist=frozenset(row.fieldname for row in config.fields) or None,
		max_page_size=clamp(config.max_page_size, 100, PAGE_SIZE_LIMIT),
		max_batch_size=clamp(config.max_batch_size, 500, BATCH_SIZE_LIMIT),
	)


def require(resource: Resource, operation: str) -> None:
	if not resource.allows(operation):
		raise OperationNotPermitted(
			_("The integration hub does not allow {0} on {1}").format(_(operation), resource.doctype)
		)


# The Frappe permission type each API operation needs; reading the change feed is reading.
PERMISSION_TYPES = {
	"read": "read",
	"create": "create",
	"update": "write",
	"delete": "delete",
	"submit": "submit",
	"cancel": "cancel",
	"changes": "read",
}
EXPOSURE_OPERATIONS = {"changes": "read"}


_REMEMBERED = "integration_hub_authorizations"


def authorize(resource: Resource, operation: str) -> None:
	"""Exposure, then the API key's scopes (if the request came with one), then Frappe's DocType-level
	permission for the session user: 403 from whichever refuses first."""
	remembered = getattr(frappe.local, _REMEMBERED, None)
	if remembered is None:
		return _authorize(resource, operation)
	answer_key = (resource, operation, frappe.session.user)
	if answer_key not in remembered:
		try:
			_authorize(resource, operation)
			remembered[answer_key] = None
		except OperationNotPermitted as e:
			remembered[answer_key] = e
	if remembered[answer_key] is not None:
		raise remembered[answer_key].with_traceback(None)


@contextlib.contextmanager
def authorizations_remembered() -> Iterator[None]:
	"""Within one call that writes many records (bulk), answer each operation's authorization once: the
	caller's roles and key scopes do not change during the call. Each document's own permission is
	still asked for every record."""
	if getattr(frappe.local, _REMEMBERED, None) is not None:
		yield
		return
	setattr(frappe.local, _REMEMBERED, {})
	try:
		yield
	finally:
		delattr(frappe.local, _REMEMBERED)


def _authorize(resource: Resource, operation: str) -> None:
	require(resource, EXPOSURE_OPERATIONS.get(operation, operation))
	require_scope(resource.doctype, operation)
	ptype = PERMISSION_TYPES[operation]
	if not has_doctype_permission(resource.doctype, ptype):
		raise OperationNotPermitted(_("You are not permitted to {0} {1}").format(_(ptype), resource.doctype))


def readable_resource(doctype: str) -> Resource | None:
	"""The exposure of `doctype` if it is exposed and the caller may read it (exposure, key scopes,
	permissions), else None."""
	if not is_exposed(doctype):
		return None
	resource = get_resource(doctype)
	try:
		authorize(resource, "read")
	except OperationNotPermitted:
		return None
	return resource


def permitted_operations(resource: Resource) -> list[str]:
	"""The operations the caller may perform on `resource`: exposure ∩ key scopes ∩ permissions."""
	permitted = []
	for operation in (*OPERATIONS, "changes"):
		try:
			authorize(resource, operation)
		except OperationNotPermitted:
			continue
		permitted.append(operation)
	return permitted


def exposed_doctypes() -> list[str]:
	return sorted(_enabled_resources())


def exposure_fingerprint() -> list:
	"""What is exposed, as plain data that changes whenever an enabled resource changes (for the keys of
	caches built from it)."""
	return [
		(doctype, sorted(resource.operations), resource.key_fields, sorted(resource.allowlist or ()))
		for doctype, resource in sorted(_enabled_resources().items())
	]


def is_exposed(doctype: str) -> bool:
	return doctype in _enabled_resources()


def _enabled_resources() -> dict[str, Resource]:
	"""Every enabled resource by DocType, in one cached value (one cache read a request): site-wide,
	cleared by HubResource.clear_cache() whenever a resource changes."""
	resources = frappe.cache.get_value(ENABLED_RESOURCES_CACHE_KEY)
	if resources is None:
		if not frappe.db.table_exists("Hub Resource"):  # while the app itself is being installed
			return {}
		names = frappe.get_all("Hub Resource", filters={"enabled": 1}, pluck="name")
		resources = {name: _resource(frappe.get_doc("Hub Resource", name)) for name in names}
		frappe.cache.set_value(ENABLED_RESOURCES_CACHE_KEY, resources)
	return resources


ENABLED_RESOURCES_CACHE_KEY = "integration_hub:enabled_resources_v2"


def prefetch_enabled_resources(pipeline) -> None:
	"""Queue the read of the cached map on a round trip to Redis that the request makes anyway
	(security/limits.py: the rate-limit hit); its answer goes to keep_prefetched_resources."""
	pipeline.get(frappe.cache.make_key(ENABLED_RESOURCES_CACHE_KEY))


def keep_prefetched_resources(cached: bytes | None) -> None:
	"""Keep the prefetched map for this request as frappe.cache.get_value keeps a value it reads (in
	the request's local cache, unpickled), so that _enabled_resources finds it there."""
	if cached is not None:
		frappe.local.cache[frappe.cache.make_key(ENABLED_RESOURCES_CACHE_KEY)] = pickle.loads(cached)


def clear_exposure_cache() -> None:
	frappe.cache.delete_value(ENABLED_RESOURCES_CACHE_KEY)
	frappe.clear_document_cache("Hub Resource")


def clear_exposure_cache_at_transaction_end() -> None:
	"""A resource read while its change is uncommitted must not outlive a rollback in the cache."""
	clear_exposure_cache()
	frappe.db.after_commit.add(clear_exposure_cache)
	frappe.db.after_rollback.add(clear_exposure_cache)


def parse_key_fields(value: str | None) -> tuple[str, ...]:
	return tuple(part.strip() for part in (value or "").split(",") if part.strip()) or ("name",)


def clamp(value: int | None, default: int, upper: int) -> int:
	value = int(value or 0) or default
	return max(1, min(value, upper))

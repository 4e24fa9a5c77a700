"""Scoped API keys: `Authorization: Bearer ihk_<prefix>_<secret>`.

The secret is 32 random bytes, shown once and stored only as a salted SHA-256 hash. A slow password
hash would add tens of milliseconds to every API call and buys nothing for a secret with 256 bits of
entropy, which cannot be guessed, only stolen. Every request looks the key up in the database, so
disabling a key, or its expiry, takes effect on the very next request.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from integration_hub.exceptions import OperationNotPermitted
from integration_hub.paths import MCP_ENDPOINT, api_endpoint_name

TOKEN_PREFIX = "ihk"
LAST_USED_RESOLUTION_SECONDS = 60
# The API endpoints a key may call at all; scopes then decide per DocType and operation.
KEY_ENDPOINTS = frozenset(
	(
		"ping",
		"openapi",
		"describe",
		"get_document",
		"list_documents",
		"upsert",
		"create_document",
		"bulk_upsert",
		"delete_document",
		"submit_document",
		"cancel_document",
		"amend_document",
		"changes",
		"call_method",
		"run_report",
	)
)
KEY_DOCTYPE = "Hub API Key"
SCOPE_OPERATIONS = ("read", "create", "update", "delete", "submit", "cancel", "changes")
# The MCP endpoint (`api/mcp.py`): its tools are the same document API, under the same scopes.


@dataclass(frozen=True)
class ActiveKey:
	"""The credential of this request: a Hub API key, or an assistant's OAuth token, which acts as its
	connection (what the user consented to) exactly as a key acts as its scopes."""

	name: str
	user: str
	rate_limit_per_minute: int
	scopes: dict[str, frozenset[str]] = field(default_factory=dict)
	parenttype: str = "Hub API Key"  # whose Resources, Methods and Reports tables narrow it
	oauth_scopes: frozenset[str] | None = None  # an OAuth token's scopes (hub:read…); None for a key
	lists_methods: bool = True  # False: its Methods table does not count (a token without hub:call)
	lists_reports: bool = True

	def allows(self, doctype: str, operation: str) -> bool:
		return operation in self.scopes.get(doctype, frozenset())


def new_secret(prefix: str | None = None, marker: str = TOKEN_PREFIX) -> tuple[str, str, str]:
	"""(prefix, plain token to show once, salted hash to store); a new prefix unless one is given. The
	marker says what the token is (`ihk` a Hub API key; the OAuth tokens have their own)."""
	prefix = prefix or secrets.token_hex(6)
	secret = secrets.token_urlsafe(32)
	return prefix, f"{marker}_{prefix}_{secret}", hash_secret(secret)


def hash_secret(secret: str, salt: str | None = None) -> str:
	salt = salt or secrets.token_hex(16)
	digest = hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()
	return f"sha256${salt}${digest}"


def secret_matches(secret: str, stored: str | None) -> bool:
	try:
		algorithm, salt, _digest = (stored or "").split("$")
	except ValueError:
		return False
	return algorithm == "sha256" and hmac.compare_digest(hash_secret(secret, salt), stored)


def parse_token(token: str, marker: str = TOKEN_PREFIX) -> tuple[str, str] | None:
	"""(prefix, secret) of a token made by `new_secret` with `marker`; None for any other."""
	found, _sep, rest = token.partition("_")
	prefix, _sep, secret = rest.partition("_")
	if found != marker or not prefix or not secret:
		return None
	return prefix, secret


def authenticate() -> None:
	"""auth_hooks entry: accept `Authorization: Bearer ihk_…`; leave every other scheme to Frappe."""
	token = bearer_token()
	if token is None or frappe.session.user not in ("", "Guest", None):
		return
	parsed = parse_token(token)
	if not parsed:
		return  # not ours: Frappe refuses the request if nothing else authenticated it
	key = _verified_key(*parsed)
	if not key.is_active:
		remember_and_raise(frappe.AuthenticationError(_("This API key is disabled or expired")))
	act_as(
		ActiveKey(
			name=key.name,
			user=key.user,
			rate_limit_per_minute=key.rate_limit_per_minute,
			scopes=granted_scopes(key.name, KEY_DOCTYPE),
		)
	)
	record_use(KEY_DOCTYPE, key.name, key.last_used_at)


def act_as(key: ActiveKey) -> None:
	"""The request runs as the credential's user, on the document API only, narrowed by it."""
	form_dict = frappe.local.form_dict
	frappe.set_user(key.user)  # which also empties form_dict: keep the request's arguments
	frappe.local.form_dict = form_dict
	require_key_endpoint()
	frappe.local.integration_hub_api_key = key


@dataclass
class _StoredKey:
	name: str
	user: str
	is_active: bool
	rate_limit_per_minute: int
	last_used_at: object


def _verified_key(prefix: str, secret: str) -> _StoredKey:
	row = frappe.db.get_value(
		"Hub API Key",
		prefix,
		["name", "user", "enabled", "expires_on", "secret_hash", "rate_limit_per_minute", "last_used_at"],
		as_dict=True,
	)
	if not row or not secret_matches(secret, row.secret_hash):
		remember_and_raise(frappe.AuthenticationError(_("Invalid API key")))
	user_enabled = frappe.db.get_value("User", row.user, "enabled")
	expired = row.expires_on and get_datetime(row.expires_on) <= now_datetime()
	return _StoredKey(
		name=row.name,
		user=row.user,
		is_active=bool(row.enabled and user_enabled and not expired),
		rate_limit_per_minute=row.rate_limit_per_minute or 0,
		last_used_at=row.last_used_at,
	)


def bearer_token() -> str | None:
	header = frappe.get_request_header("Authorization", "") or ""
	scheme, _sep, token = header.strip().partition(" ")
	return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_key_endpoint() -> None:
	"""A key (or an OAuth token, which is narrowed as a key is) calls the document API and MCP only."""
	name = api_endpoint_name(frappe.request.path)
	if name == MCP_ENDPOINT:
		return
	if name not in KEY_ENDPOINTS:
		remember_and_raise(
			OperationNotPermitted(_("An integration hub API key can only call the hub's document API"))
		)


def granted_scopes(parent: str, parenttype: str) -> dict[str, frozenset[str]]:
	"""What a key, or an assistant's connection, may do on each resource (their Resources table)."""
	Scope = frappe.qb.DocType("Hub API Key Scope")
	Resource = frappe.qb.DocType("Hub Resource")
	rows = (
		frappe.qb.from_(Scope)
		.join(Resource)
		.on(Resource.name == Scope.resource)
		.select(Resource.document_type, *(Scope[f"allow_{op}"] for op in SCOPE_OPERATIONS))
		.where((Scope.parent == parent) & (Scope.parenttype == parenttype))
		.run(as_dict=True)
	)
	scopes: dict[str, set[str]] = {}
	for row in rows:
		scopes.setdefault(row.document_type, set()).update(
			op for op in SCOPE_OPERATIONS if row[f"allow_{op}"]
		)
	return {doctype: frozenset(ops) for doctype, ops in scopes.items()}


def record_use(doctype: str, name: str, last_used_at) -> None:
	"""Note when and from where a key (or an assistant's connection) was used, at most once a minute,
	in its own small commit."""
	now = now_datetime()
	if last_used_at and get_datetime(last_used_at) > add_to_date(now, seconds=-LAST_USED_RESOLUTION_SECONDS):
		return
	frappe.db.set_value(
		doctype, name, {"last_used_at": now, "last_used_ip": frappe.local.request_ip}, update_modified=False
	)
	frappe.db.commit()  # an auth hook runs first in the request: this commits nothing else


def remember_and_raise(exc: Exception) -> None:
	"""Raise from a hook that runs before the endpoint; `api/errors.py` renders what is remembered."""
	frappe.local.flags.integration_hub_problem = exc
	raise exc


def current_key() -> ActiveKey | None:
	return getattr(frappe.local, "integration_hub_api_key", None)


def require_scope(doctype: str, operation: str) -> None:
	key = current_key()
	if key is not None and not key.allows(doctype, operation):
		raise OperationNotPermitted(
			refusal(key, _("{0} on {1}").format(_(operation), doctype)),
		)


def refusal(key: ActiveKey, what: str) -> str:
	"""Why a key, or an assistant's token, may not do `what`, and for a token how to allow it."""
	if key.oauth_scopes is None:
		return _("This API key's scopes do not allow {0}").format(what)
	return _("The user did not allow this assistant {0}: sign it in again to allow it").format(what)


def require_method_scope(method: str) -> None:
	"""A key calls only the curated methods it lists (Hub API Key → Methods); other callers are
	refused or not by the method's own permission checks, as at /api/method."""
	key = current_key()
	if key is not None and method not in key_methods(key):
		raise OperationNotPermitted(refusal(key, _("calling {0}").format(method)))


def require_report_scope(report: str) -> None:
	"""A key runs only the curated reports it lists (Hub API Key → Reports); the report's own roles and
	permissions then apply to every caller, as in the Desk."""
	key = current_key()
	if key is not None and report not in key_reports(key):
		raise OperationNotPermitted(refusal(key, _("running {0}").format(report)))


def key_methods(key: ActiveKey) -> frozenset[str]:
	return _key_grants(key, "Hub API Key Method", "method") if key.lists_methods else frozenset()


def key_reports(key: ActiveKey) -> frozenset[str]:
	return _key_grants(key, "Hub API Key Report", "report") if key.lists_reports else frozenset()


def _key_grants(key: ActiveKey, table: str, fieldname: str) -> frozenset[str]:
	"""The curated methods or reports a key (or a connection) lists; asked once a request, only by calls
	that need them."""
	cache = frappe.local.flags.setdefault("integration_hub_key_grants", {})
	if (key.name, table) not in cache:
		filters = {"parent": key.name, "parenttype": key.parenttype}
		cache[(key.name, table)] = frozenset(frappe.get_all(table, filters=filters, pluck=fieldname))
	return cache[(key.name, table)]

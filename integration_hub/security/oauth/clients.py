"""The applications that may ask a user to connect them: registered by themselves (RFC 7591), or known
by a Client ID Metadata Document (an https address that describes the application, fetched here).

A public client (an assistant on a desktop, or a web service holding no secret for this site) proves
itself by PKCE; a confidential one also by its secret, stored only as a salted hash and sent in the
token request's body (`client_secret_post`: Frappe itself answers an `Authorization: Basic` header
before any endpoint runs, taking it for a user's API key).
"""

import hashlib
import json
import re
import secrets
import time
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc7591 import InvalidClientMetadataError

import frappe
from frappe.utils import add_to_date, get_datetime, now_datetime

from integration_hub.http_client import check_url, outbound_session, private_endpoints_allowed
from integration_hub.security.api_keys import hash_secret, secret_matches
from integration_hub.security.oauth import scopes
from integration_hub.security.oauth.settings import metadata_documents_allowed

CLIENT = "Hub OAuth Client"
DYNAMIC, METADATA_DOCUMENT = "Dynamic Registration", "Metadata Document"
PUBLIC, SECRET_POST = "none", "client_secret_post"
AUTH_METHODS = (PUBLIC, SECRET_POST)
GRANT_TYPES = ("authorization_code", "refresh_token")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
METADATA_DOCUMENT_MAX_BYTES = 16_384
METADATA_DOCUMENT_DAYS = 1
METADATA_DOCUMENT_SECONDS = 5  # the whole fetch: a server that drips bytes does not hold a worker
# What an application may say about itself is shown to people (the consent page, the Desk), which
# render some of it as HTML: markup characters and control characters are refused, not escaped later.
UNSAFE_TEXT = re.compile(r"[<>\"'`\x00-\x1f\x7f]")
FIELDS = ("name", "client_id", "client_name", "enabled", "token_endpoint_auth_method", "client_secret_hash")
FIELDS += ("redirect_uris", "client_uri", "logo_uri", "registration", "fetched_at", "creation", "metadata")


class OAuthClient(ClientMixin):
	"""A Hub OAuth Client row, as authlib asks a client to behave."""

	def __init__(self, row: dict) -> None:
		self.row = frappe._dict(row)
		self.redirect_uris = [uri for uri in (self.row.redirect_uris or "").splitlines() if uri.strip()]
		registered = json.loads(self.row.metadata).get("grant_types") if self.row.get("metadata") else None
		self.grant_types = [g for g in GRANT_TYPES if g in (registered or GRANT_TYPES)]

	@property
	def name(self) -> str:
		return self.row.name

	@property
	def display_name(self) -> str:
		return self.row.client_name or urlsplit(self.row.client_id).hostname or self.row.client_id

	@property
	def issued_at(self) -> int:
		created = get_datetime(self.row.creation) if self.row.get("creation") else now_datetime()
		return int(created.timestamp())

	def get_client_id(self) -> str:
		return self.row.client_id

	def get_default_redirect_uri(self) -> str | None:
		return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

	def get_allowed_scope(self, scope: str) -> str:
		return " ".join(scopes.parse(scope))

	def check_redirect_uri(self, redirect_uri: str) -> bool:
		return any(redirect_uri_matches(registered, redirect_uri) for registered in self.redirect_uris)

	def check_client_secret(self, client_secret: str) -> bool:
		return bool(self.row.client_secret_hash) and secret_matches(
			client_secret, self.row.client_secret_hash
		)

	def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
		return method == (self.row.token_endpoint_auth_method or PUBLIC)

	def check_response_type(self, response_type: str) -> bool:
		return response_type == "code"

	def check_grant_type(self, grant_type: str) -> bool:
		return grant_type in self.grant_types


def redirect_uri_matches(registered: str, requested: str) -> bool:
	"""Exactly the registered address; on a loopback address any port (RFC 8252 §7.3): a desktop
	application listens on whatever port is free when the user signs in."""
	if registered == requested:
		return True
	want, got = urlsplit(registered), urlsplit(requested)
	loopback = want.scheme == "http" and want.hostname in LOOPBACK_HOSTS
	return (
		loopback
		and (want.scheme, want.hostname, want.path, want.query)
		== (got.scheme, got.hostname, got.path, got.query)
		and not got.fragment
	)


def get_client(client_id: object, fetch: bool = False) -> OAuthClient | None:
	"""The enabled client with this id: registered here, or described by the document at its address,
	fetched (if `fetch`: only when a signed-in person authorizes it) or as fetched then."""
	if not isinstance(client_id, str) or not client_id or len(client_id) > 1000:
		return None
	if not is_metadata_document_id(client_id):
		row = frappe.db.get_value(CLIENT, client_id, FIELDS, as_dict=True)
	elif fetch:
		row = metadata_document_client(client_id)
	else:
		row = frappe.db.get_value(CLIENT, metadata_document_name(client_id), FIELDS, as_dict=True)
	return OAuthClient(row) if row and row.enabled else None


def is_metadata_document_id(client_id: str) -> bool:
	parts = urlsplit(client_id)
	insecure_allowed = parts.scheme == "http" and private_endpoints_allowed()
	return (
		(parts.scheme == "https" or insecure_allowed) and bool(parts.hostname) and parts.path not in ("", "/")
	)


# --- dynamic registration ----------------------------------------------------------------------


def normalized_registration(metadata: dict) -> dict:
	"""What a client asked to register, as this server registers it (RFC 7591 §3.2.1 lets the server
	replace values): Basic authentication (which Frappe itself intercepts) becomes the body's; grant
	types, response types and scopes this server does not have are left out (VS Code asks for the
	device flow too, clients add openid); clients that tell no redirect URI are refused."""
	metadata = dict(metadata)
	if not metadata.get("redirect_uris"):
		raise InvalidClientMetadataError(
			"redirect_uris is required: this server has the authorization code flow only"
		)
	if problem := metadata_problem(metadata):
		raise InvalidClientMetadataError(problem)
	if metadata.get("token_endpoint_auth_method") in (None, "client_secret_basic"):
		metadata["token_endpoint_auth_method"] = SECRET_POST
	asked = metadata.get("grant_types") or list(GRANT_TYPES)
	metadata["grant_types"] = [g for g in GRANT_TYPES if g in asked] or ["authorization_code"]
	metadata["response_types"] = ["code"]
	if "scope" in metadata:
		metadata["scope"] = " ".join(scopes.parse(metadata.get("scope")))
	return metadata


def metadata_problem(metadata: dict) -> str | None:
	"""Why what an application says about itself cannot be kept, if it cannot: a redirect URI in plain
	http off loopback (OAuth 2.1), markup in a name or an address (shown to people), an address that is
	not http(s)."""
	uris = metadata.get("redirect_uris")
	if not isinstance(uris, list) or not all(isinstance(uri, str) and uri for uri in uris):
		return "redirect_uris must be a list of URIs"
	for uri in uris:
		parts = urlsplit(uri)
		if UNSAFE_TEXT.search(uri) or not parts.scheme or parts.fragment:
			return f"redirect URI not accepted: {uri[:200]}"
		if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
			return f"a redirect URI in plain http must be a loopback address: {uri[:200]}"
	for field in ("client_name", "client_uri", "logo_uri", "software_id", "software_version"):
		value = metadata.get(field)
		if value is not None and (not isinstance(value, str) or UNSAFE_TEXT.search(value)):
			return f"{field} must be plain text"
	for field in ("client_uri", "logo_uri"):
		if metadata.get(field) and urlsplit(metadata[field]).scheme not in ("http", "https"):
			return f"{field} must be an http(s) address"
	return None


def register(metadata: dict) -> tuple[OAuthClient, str | None]:
	"""The client for validated registration `metadata`, and its secret (None for a public client). A
	public client registering again with the same metadata gets the same registration back: clients
	register again whenever they lose their stored registration."""
	public = metadata.get("token_endpoint_auth_method") == PUBLIC
	redirect_uris = "\n".join(metadata.get("redirect_uris") or [])
	if public and (existing := _same_registration(metadata, redirect_uris)):
		return OAuthClient(existing), None
	client_id = f"ihc_{secrets.token_hex(12)}"
	secret = None if public else secrets.token_urlsafe(32)
	row = {
		"name": client_id,
		"client_id": client_id,
		"client_name": (metadata.get("client_name") or "")[:140] or None,
		"enabled": 1,
		"registration": DYNAMIC,
		"token_endpoint_auth_method": metadata["token_endpoint_auth_method"],
		"client_secret_hash": hash_secret(secret) if secret else None,
		"redirect_uris": redirect_uris,
		"client_uri": (metadata.get("client_uri") or "")[:140] or None,
		"logo_uri": (metadata.get("logo_uri") or "")[:140] or None,
		"software_id": (metadata.get("software_id") or "")[:140] or None,
		"software_version": (metadata.get("software_version") or "")[:140] or None,
		"metadata": json.dumps(metadata, indent=1),
		"registered_from_ip": getattr(frappe.local, "request_ip", None),
	}
	_insert(row)
	return OAuthClient(row), secret


def _same_registration(metadata: dict, redirect_uris: str) -> dict | None:
	filters = {
		"registration": DYNAMIC,
		"enabled": 1,
		"token_endpoint_auth_method": PUBLIC,
		"client_name": (metadata.get("client_name") or "")[:140] or None,
		"redirect_uris": redirect_uris,
	}
	names = frappe.get_all(CLIENT, filters=filters, pluck="name", order_by="creation asc", limit=1)
	return frappe.db.get_value(CLIENT, names[0], FIELDS, as_dict=True) if names else None


def _insert(row: dict) -> None:
	"""The authorization server's own record, written as it is (a registration is not a document the
	caller owns or could be permitted to write: the caller is anonymous)."""
	frappe.get_doc({"doctype": CLIENT, **row}).db_insert()


# --- Client ID Metadata Documents ---------------------------------------------------------------


def metadata_document_client(url: str) -> dict | None:
	"""The client a metadata document at `url` describes: fetched when first seen and again after a
	day; None if such clients are not allowed, or the document is missing or invalid."""
	if not metadata_documents_allowed():
		return None
	name = metadata_document_name(url)
	row = frappe.db.get_value(CLIENT, name, FIELDS, as_dict=True)
	refetch_after = add_to_date(now_datetime(), days=-METADATA_DOCUMENT_DAYS)
	fresh = row and row.fetched_at and get_datetime(row.fetched_at) > refetch_after
	if fresh or (row and not row.enabled):
		return row
	document = _fetch_metadata_document(url)
	if document is None:
		return None
	values = {
		"client_id": url,
		"client_name": str(document.get("client_name") or "")[:140] or None,
		"redirect_uris": "\n".join(document["redirect_uris"]),
		"client_uri": str(document.get("client_uri") or "")[:140] or None,
		"logo_uri": str(document.get("logo_uri") or "")[:140] or None,
		"metadata": json.dumps(document, indent=1),
		"fetched_at": now_datetime(),
	}
	if row:
		frappe.db.set_value(CLIENT, name, values, update_modified=False)
		return frappe._dict({**row, **values})
	values.update(name=name, enabled=1, registration=METADATA_DOCUMENT, token_endpoint_auth_method=PUBLIC)
	_insert(values)
	return frappe._dict(values)


def metadata_document_name(url: str) -> str:
	return "cimd-" + hashlib.sha256(url.encode()).hexdigest()[:24]


def _fetch_metadata_document(url: str) -> dict | None:
	"""The document, if it is JSON naming this very address as its client_id, with redirect URIs. Its
	clients are public (PKCE): a document's private_key_jwt would need its keys, which this server
	does not fetch; clients that declare it accept `none` too."""
	try:
		check_url(url)
		body = _bounded_get(url)
		if body is None:
			return None
		document = json.loads(body)
	except Exception:
		frappe.logger("integration_hub").info(f"client metadata document {url[:200]} unusable", exc_info=True)
		return None
	if not isinstance(document, dict) or document.get("client_id") != url:
		return None
	uris = document.get("redirect_uris")
	if not isinstance(uris, list) or not uris:
		return None
	return None if metadata_problem(document) else document


def _bounded_get(url: str) -> bytes | None:
	"""The body of a 200 answer at `url`, unless it is larger than METADATA_DOCUMENT_MAX_BYTES or takes
	longer than METADATA_DOCUMENT_SECONDS in all."""
	deadline = time.monotonic() + METADATA_DOCUMENT_SECONDS
	with outbound_session(timeout=METADATA_DOCUMENT_SECONDS, follow_redirects=False) as session:
		response = session.get(url, headers={"Accept": "application/json"}, stream=True)
		if response.status_code != 200:
			return None
		body = b""
		for chunk in response.iter_content(1024):
			body += chunk
			if len(body) > METADATA_DOCUMENT_MAX_BYTES or time.monotonic() > deadline:
				return None
	return body

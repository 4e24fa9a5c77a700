"""Authorization codes, access and refresh tokens: stored only as salted hashes (the plain token is
`<marker>_<id>_<secret>`, made and checked as Hub API keys are), each bound to the connection the user
consented to, its client, its scopes and its resource; and the bearer authentication of a request.

Every request looks its token and connection up, so a revoked token, a revoked connection, a disabled
client or user, or a user who lost the role that may connect assistants, is refused on its next
request.
"""

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, TokenMixin

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from integration_hub.exceptions import InsufficientScope
from integration_hub.paths import api_endpoint_name
from integration_hub.security.api_keys import (
	ActiveKey,
	act_as,
	bearer_token,
	granted_scopes,
	hash_secret,
	new_secret,
	parse_token,
	record_use,
	remember_and_raise,
	secret_matches,
)
from integration_hub.security.oauth import scopes
from integration_hub.security.oauth.settings import may_connect
from integration_hub.security.oauth.urls import resource_url

TOKEN = "Hub OAuth Token"
CONNECTION = "Hub Assistant Connection"
CODE, ACCESS, REFRESH = "Authorization Code", "Access Token", "Refresh Token"
MARKERS = {CODE: "ihac", ACCESS: "ihat", REFRESH: "ihrt"}
S256 = "S256"


@dataclass
class Grant:
	"""What a user granted an application: the connection, acting as `user`, within `scope`."""

	connection: str
	user: str
	scope: str


def new_token(kind: str) -> str:
	"""A plain token of `kind`, not yet stored (`store` keeps its hash)."""
	_prefix, plain, _hash = new_secret(marker=MARKERS[kind])
	return plain


def store(kind: str, plain: str, grant: Grant, client, resource: str, seconds: int, **values) -> str:
	"""Keep the hash of `plain` and what it is bound to; its id."""
	prefix, secret = parse_token(plain, MARKERS[kind])
	frappe.get_doc(
		{
			"doctype": TOKEN,
			"name": prefix,
			"kind": kind,
			"token_hash": hash_secret(secret),
			"connection": grant.connection,
			"client": client.name,
			"user": grant.user,
			"scope": grant.scope,
			"resource": resource,
			"expires_at": add_to_date(now_datetime(), seconds=seconds),
			**values,
		}
	).db_insert()  # the authorization server's own record: the token's owner is not the caller
	return prefix


class StoredToken(TokenMixin, AuthorizationCodeMixin):
	"""A stored code or token, as authlib asks one to behave."""

	def __init__(self, row: dict) -> None:
		self.row = frappe._dict(row)
		self.code_challenge = self.row.code_challenge
		self.code_challenge_method = S256

	@property
	def name(self) -> str:
		return self.row.name

	def grant(self) -> Grant:
		return Grant(self.row.connection, self.row.user, self.row.scope or "")

	def get_redirect_uri(self) -> str | None:
		return self.row.redirect_uri

	def get_scope(self) -> str:
		return self.row.scope or ""

	def check_client(self, client) -> bool:
		return self.row.client == client.name

	def get_expires_in(self) -> int:
		return max(0, int((get_datetime(self.row.expires_at) - now_datetime()).total_seconds()))

	def is_expired(self) -> bool:
		return get_datetime(self.row.expires_at) <= now_datetime()

	def is_revoked(self) -> bool:
		return bool(self.row.revoked or self.row.used)

	def get_user(self) -> Grant:
		return self.grant()


TOKEN_FIELDS = ("name", "kind", "token_hash", "connection", "client", "user", "scope", "resource")
TOKEN_FIELDS += ("expires_at", "revoked", "used", "redirect_uri", "code_challenge", "parent_token")


def find(plain: object, kind: str, for_update: bool = False) -> StoredToken | None:
	"""The stored token `plain` is, if it is one of `kind` and its secret matches (in constant time);
	`for_update` locks its row until the transaction ends (a code or refresh token is used once)."""
	parsed = parse_token(plain, MARKERS[kind]) if isinstance(plain, str) else None
	if parsed is None:
		return None
	row = frappe.db.get_value(TOKEN, parsed[0], TOKEN_FIELDS, as_dict=True, for_update=for_update)
	if not row or row.kind != kind or not secret_matches(parsed[1], row.token_hash):
		return None
	return StoredToken(row)


def find_any(plain: object) -> StoredToken | None:
	"""An access or refresh token, whichever `plain` is (revocation takes either)."""
	return find(plain, ACCESS) or find(plain, REFRESH)


def mark_used(token: StoredToken) -> None:
	frappe.db.set_value(TOKEN, token.name, "used", 1, update_modified=False)


def revoke(token: StoredToken) -> None:
	"""Revoke a token, the tokens issued for it, and for a refresh token the access token issued with
	it (both were issued for the same code or earlier refresh token): RFC 7009 §2.1."""
	Token = frappe.qb.DocType(TOKEN)
	revoked = (Token.name == token.name) | (Token.parent_token == token.name)
	if token.row.kind == REFRESH and token.row.parent_token:
		revoked |= (Token.parent_token == token.row.parent_token) & (Token.kind == ACCESS)
	frappe.qb.update(Token).set(Token.revoked, 1).where(revoked).run()


def revoke_connection_tokens(connection: str) -> None:
	Token = frappe.qb.DocType(TOKEN)
	frappe.qb.update(Token).set(Token.revoked, 1).where(Token.connection == connection).run()


EXPIRED_KEPT_DAYS = 7  # a replayed code or refresh token is still recognised (and revokes) that long


def prune_expired() -> None:
	"""Forget codes and tokens that expired a week ago."""
	Token = frappe.qb.DocType(TOKEN)
	cutoff = add_to_date(now_datetime(), days=-EXPIRED_KEPT_DAYS)
	frappe.qb.from_(Token).delete().where(Token.expires_at < cutoff).run()


def is_live(token: StoredToken) -> bool:
	"""Whether a code or refresh token may still give tokens: the same rule as an access token's."""
	row = _with_its_grant(token.name)
	return row is not None and _grant_is_live(row)


# --- the bearer authentication of a request -----------------------------------------------------


def authenticate() -> None:
	"""auth_hooks entry: accept `Authorization: Bearer ihat_…` (an assistant's access token) on the
	document API and MCP, as its user, narrowed by the connection; leave every other token alone."""
	token = bearer_token()
	if token is None or not token.startswith(MARKERS[ACCESS] + "_"):
		return
	if frappe.session.user not in ("", "Guest", None):
		return
	access = _live_access(token)
	if access is None:
		remember_and_raise(
			frappe.AuthenticationError(
				_("This access token is invalid, expired or revoked: sign the assistant in again")
			)
		)
	if access.resource != resource_url():
		remember_and_raise(
			frappe.AuthenticationError(
				_("This access token was issued for {0}, not for {1}").format(access.resource, resource_url())
			)
		)
	token_scopes = frozenset((access.scope or "").split())
	act_as(
		ActiveKey(
			name=access.connection,
			user=access.user,
			rate_limit_per_minute=0,
			scopes=scopes.within(granted_scopes(access.connection, CONNECTION), token_scopes),
			parenttype=CONNECTION,
			oauth_scopes=token_scopes,
			lists_methods=scopes.CALL in token_scopes,
			lists_reports=scopes.READ in token_scopes,
		)
	)
	try:
		scopes.require(api_endpoint_name(frappe.request.path))  # MCP: per tool, in the MCP endpoint
	except InsufficientScope as e:
		remember_and_raise(e)
	record_use(CONNECTION, access.connection, access.last_used_at)


def _live_access(plain: str) -> frappe._dict | None:
	"""The access token with its connection, client and user, in one query; None unless all are live."""
	prefix, secret = parse_token(plain, MARKERS[ACCESS]) or (None, None)
	row = _with_its_grant(prefix) if prefix else None
	if row is None or row.kind != ACCESS or not secret_matches(secret, row.token_hash):
		return None
	return row if _grant_is_live(row) else None


def _with_its_grant(name: str) -> frappe._dict | None:
	"""A stored token with what it acts under (connection, client, user), in one query."""
	Token, Connection = frappe.qb.DocType(TOKEN), frappe.qb.DocType(CONNECTION)
	Client, User = frappe.qb.DocType("Hub OAuth Client"), frappe.qb.DocType("User")
	rows = (
		frappe.qb.from_(Token)
		.join(Connection)
		.on(Connection.name == Token.connection)
		.join(Client)
		.on(Client.name == Connection.client)
		.join(User)
		.on(User.name == Connection.user)
		.select(
			Token.kind,
			Token.token_hash,
			Token.expires_at,
			Token.revoked,
			Token.resource,
			Token.scope,
			Token.connection,
			Token.user.as_("token_user"),
			Connection.user,
			Connection.status,
			Connection.last_used_at,
			Client.enabled.as_("client_enabled"),
			User.enabled.as_("user_enabled"),
		)
		.where(Token.name == name)
		.run(as_dict=True)
	)
	return rows[0] if rows else None


def _grant_is_live(row: frappe._dict) -> bool:
	"""Not revoked or expired; its connection active and unaltered since (the same user); its client
	enabled; its user enabled and still with a role that may connect assistants."""
	return bool(
		not row.revoked
		and get_datetime(row.expires_at) > now_datetime()
		and row.token_user == row.user
		and row.status == "Active"
		and row.client_enabled
		and row.user_enabled
		and may_connect(row.user)
	)

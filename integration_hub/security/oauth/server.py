"""The OAuth 2.1 protocol, by authlib (Frappe's request and response around it): the authorization
code grant with PKCE S256 required, refresh tokens rotated on every use, revocation (RFC 7009),
dynamic client registration (RFC 7591), `iss` in every authorization response (RFC 9207), and the
`resource` of RFC 8707 bound to each code and token.

authlib 1.6 (see pyproject.toml for why not later) has no resource indicators: the grants here check
`resource` themselves. A code used twice, or a rotated refresh token used again, is taken for a stolen
one: every token of that connection is revoked (RFC 6749 §4.1.2, OAuth 2.1 §4.3.1).
"""

import functools
import json
from collections import defaultdict
from typing import ClassVar

from authlib.consts import default_json_headers
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
	AccessDeniedError,
	InvalidGrantError,
	InvalidRequestError,
	OAuth2Error,
	grants,
)
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest, OAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from werkzeug.wrappers import Response

import frappe
from frappe.utils import get_url

from integration_hub.security.oauth import clients, tokens
from integration_hub.security.oauth.metadata import authorization_server_metadata
from integration_hub.security.oauth.settings import (
	CODE_SECONDS,
	access_token_seconds,
	refresh_token_seconds,
	registration_allowed,
)
from integration_hub.security.oauth.tokens import ACCESS, CODE, REFRESH
from integration_hub.security.oauth.urls import issuer, resource_url


class InvalidTargetError(OAuth2Error):
	"""RFC 8707 §2: the resource asked for is not one this server issues tokens for."""

	error = "invalid_target"


# --- Frappe's request, as authlib reads one ------------------------------------------------------


class FrappePayload(OAuth2Payload):
	def __init__(self, request) -> None:
		self._request = request

	@property
	def data(self):
		return self._request.values

	@functools.cached_property
	def datalist(self):
		values = defaultdict(list)
		for key in self._request.values:
			values[key].extend(self._request.values.getlist(key))
		return values


class FrappeRequest(OAuth2Request):
	def __init__(self, request) -> None:
		# The site's own address (host_name behind a proxy), which authlib requires to be https but on
		# loopback addresses.
		super().__init__(request.method, get_url(request.full_path), headers=request.headers)
		self._request = request
		self.payload = FrappePayload(request)

	@property
	def args(self):
		return self._request.args

	@property
	def form(self):
		return self._request.form


class FrappeJsonPayload(JsonPayload):
	def __init__(self, data: dict) -> None:
		self._data = data

	@property
	def data(self):
		return self._data


# --- grants ---------------------------------------------------------------------------------------


class S256Required(CodeChallenge):
	"""PKCE on every authorization, with S256 only (OAuth 2.1; the MCP specification)."""

	SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

	def validate_code_challenge(self, grant, redirect_uri):
		data = grant.request.payload.data
		if not data.get("code_challenge"):
			raise InvalidRequestError("code_challenge is required (PKCE)", redirect_uri=redirect_uri)
		if data.get("code_challenge_method") != "S256":
			raise InvalidRequestError("code_challenge_method must be S256", redirect_uri=redirect_uri)
		return super().validate_code_challenge(grant, redirect_uri)

	def validate_code_verifier(self, grant, result):
		if not grant.request.form.get("code_verifier"):
			raise InvalidRequestError("code_verifier is required (PKCE)")
		return super().validate_code_verifier(grant, result)


def requested_resource(grant) -> str:
	"""The `resource` a grant's request asks for: this hub's (which clients that send none get), or
	InvalidTargetError, sent back to the client's redirect URI once that is known to be its own."""
	asked = grant.request.payload.datalist.get("resource") or [resource_url()]
	if len(asked) != 1 or asked[0].rstrip("/") != resource_url():
		raise InvalidTargetError(
			f"This server issues tokens for {resource_url()} only",
			state=grant.request.payload.state,
			redirect_uri=getattr(grant, "redirect_uri", None),
		)
	return resource_url()


def live_grant(stored: tokens.StoredToken) -> tokens.Grant:
	"""The grant of a code or refresh token, or InvalidGrantError if it may no longer be used."""
	grant = stored.grant()
	if not tokens.is_live(stored):
		raise InvalidGrantError("The connection was revoked, or its user may no longer connect assistants")
	return grant


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
	TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(clients.AUTH_METHODS)

	def generate_authorization_code(self) -> str:
		return tokens.new_token(CODE)

	def save_authorization_code(self, code: str, request) -> None:
		tokens.store(
			CODE,
			code,
			request.user,
			request.client,
			requested_resource(self),
			CODE_SECONDS,
			redirect_uri=request.payload.redirect_uri,
			code_challenge=request.payload.data.get("code_challenge"),
		)

	def query_authorization_code(self, code: str, client):
		stored = tokens.find(code, CODE, for_update=True)  # a parallel exchange waits, then sees it used
		if stored is None or not stored.check_client(client):
			return None
		if stored.row.used:  # replayed: whoever holds it is not the client it was issued to
			tokens.revoke_connection_tokens(stored.row.connection)
			return None
		return None if stored.is_expired() or stored.is_revoked() else stored

	def delete_authorization_code(self, authorization_code) -> None:
		tokens.mark_used(authorization_code)

	def authenticate_user(self, authorization_code):
		return live_grant(authorization_code)

	def validate_token_request(self):
		super().validate_token_request()
		if "resource" in self.request.payload.data:
			target = requested_resource(self)
			if target != self.request.authorization_code.row.resource:
				raise InvalidTargetError("The resource is not the one this code was issued for")


class RefreshTokenGrant(grants.RefreshTokenGrant):
	TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(clients.AUTH_METHODS)
	INCLUDE_NEW_REFRESH_TOKEN = True  # rotated on every use

	def authenticate_refresh_token(self, refresh_token: str):
		stored = tokens.find(refresh_token, REFRESH, for_update=True)  # as a code: one use, even in parallel
		if stored is None:
			return None
		if stored.row.used:  # a rotated token used again: stolen, or the client's copy was
			tokens.revoke_connection_tokens(stored.row.connection)
			return None
		if "resource" in self.request.payload.data and requested_resource(self) != stored.row.resource:
			raise InvalidTargetError("The resource is not the one this token was issued for")
		return None if stored.is_expired() or stored.is_revoked() else stored

	def authenticate_user(self, refresh_token):
		return live_grant(refresh_token)

	def revoke_old_credential(self, refresh_token) -> None:
		tokens.mark_used(refresh_token)


# --- endpoints ------------------------------------------------------------------------------------


class Revocation(RevocationEndpoint):
	CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(clients.AUTH_METHODS)

	def query_token(self, token_string, token_type_hint):
		return tokens.find_any(token_string)

	def revoke_token(self, token, request) -> None:
		tokens.revoke(token)


class Registration(ClientRegistrationEndpoint):
	def create_registration_response(self, request):
		if not registration_allowed():
			raise AccessDeniedError("Dynamic client registration is turned off on this site")
		request.payload = FrappeJsonPayload(clients.normalized_registration(request.payload.data or {}))
		metadata = self.extract_client_metadata(request)
		client, secret = clients.register(metadata)
		body = {
			**metadata,
			"client_id": client.get_client_id(),
			"client_id_issued_at": client.issued_at,
			"redirect_uris": client.redirect_uris,
			"token_endpoint_auth_method": client.row.token_endpoint_auth_method,
		}
		if secret:
			body.update(client_secret=secret, client_secret_expires_at=0)
		return 201, {k: v for k, v in body.items() if v is not None}, default_json_headers

	def get_server_metadata(self) -> dict:
		return authorization_server_metadata()


class Issuer(IssuerParameter):
	def get_issuer(self) -> str:
		return issuer()


class HubAuthorizationServer(AuthorizationServer):
	def __init__(self, fetch_metadata_documents: bool = False) -> None:
		super().__init__()
		self.fetch_metadata_documents = fetch_metadata_documents
		self.register_grant(AuthorizationCodeGrant, [S256Required()])
		self.register_grant(RefreshTokenGrant)
		self.register_endpoint(Revocation(server=self))
		self.register_endpoint(Registration(server=self))
		self.issuer_parameter = Issuer()
		self.register_extension(self.issuer_parameter)
		self.register_token_generator("default", generate_tokens)

	def query_client(self, client_id):
		return clients.get_client(client_id, fetch=self.fetch_metadata_documents)

	def save_token(self, token: dict, request) -> None:
		"""Keep the hashes of a token response's access and refresh tokens, bound as their grant is."""
		client = request.client
		grant = tokens.Grant(
			request.user.connection, request.user.user, token.get("scope") or request.user.scope
		)
		parent = (request.authorization_code or request.refresh_token).name
		resource = (request.authorization_code or request.refresh_token).row.resource
		tokens.store(
			ACCESS, token["access_token"], grant, client, resource, token["expires_in"], parent_token=parent
		)
		if token.get("refresh_token"):
			tokens.store(
				REFRESH,
				token["refresh_token"],
				grant,
				client,
				resource,
				refresh_token_seconds(),
				parent_token=parent,
			)

	def validate_requested_scope(self, scope) -> None:
		"""Scopes are the client's `get_allowed_scope` (unknown ones left out) and the user's consent."""

	def create_oauth2_request(self, request):
		return request if isinstance(request, OAuth2Request) else FrappeRequest(frappe.request)

	def create_json_request(self, request):
		json_request = JsonRequest(
			frappe.request.method, get_url(frappe.request.full_path), frappe.request.headers
		)
		body = frappe.request.get_json(silent=True)
		json_request.payload = FrappeJsonPayload(body if isinstance(body, dict) else {})
		return json_request

	def handle_response(self, status, body, headers):
		if isinstance(body, dict):
			body = json.dumps(body)
		return Response(body, status=status, headers=headers)

	def send_signal(self, name, *args, **kwargs) -> None:
		pass

	def error_redirect(self, request, error: OAuth2Error) -> Response:
		"""An error sent back to the client's (validated) redirect URI, with `iss` as RFC 9207 asks."""
		response = self.handle_error_response(request, error)
		self.issuer_parameter.add_issuer_parameter(self, response)
		return response


def generate_tokens(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
	"""authlib's token generator: an access token, and a refresh token for the grants that rotate it."""
	token = {
		"token_type": "Bearer",
		"access_token": tokens.new_token(ACCESS),
		"expires_in": access_token_seconds(),
		"scope": scope or (user.scope if user else ""),
	}
	if include_refresh_token:
		token["refresh_token"] = tokens.new_token(REFRESH)
	return token


def authorization_server(fetch_metadata_documents: bool = False) -> HubAuthorizationServer:
	"""One per request: cheap to build, and it holds no state of its own. Only the authorization of a
	signed-in person fetches a client's metadata document; the anonymous endpoints read it as fetched."""
	return HubAuthorizationServer(fetch_metadata_documents)

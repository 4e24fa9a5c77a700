"""The documents a client discovers the authorization server by, and the challenge that points to them.

- Protected Resource Metadata (RFC 9728), at the path-inserted address and the root: the hub's MCP
  endpoint as the resource, this site as its authorization server, the scopes.
- Authorization Server Metadata (RFC 8414), at the path-inserted address of the issuer and the root,
  and the same as an OpenID discovery document (which clients try second); S256 the only PKCE method.
- `WWW-Authenticate` of a 401 (with `resource_metadata` and `scope`) and of a 403 for a scope the
  token lacks (`error="insufficient_scope"`).

They are served by a page renderer (Frappe's `page_renderer` hook) because they live outside /api.
"""

import json

from werkzeug.wrappers import Response

from integration_hub.security.oauth import clients, scopes
from integration_hub.security.oauth.settings import metadata_documents_allowed, registration_allowed
from integration_hub.security.oauth.urls import (
	endpoint_url,
	issuer,
	resource_metadata_url,
	resource_url,
	site_url,
	well_known_documents,
)

MAX_AGE_SECONDS = 300


def protected_resource_metadata() -> dict:
	return {
		"resource": resource_url(),
		"authorization_servers": [issuer()],
		"scopes_supported": list(scopes.SCOPES),
		"bearer_methods_supported": ["header"],
		"resource_name": f"Integration Hub of {site_url().split('://', 1)[-1]}",
	}


def authorization_server_metadata() -> dict:
	"""RFC 8414 metadata; registration and metadata documents as Hub Assistant Settings allow them."""
	metadata = {
		"issuer": issuer(),
		"authorization_endpoint": endpoint_url("authorize"),
		"token_endpoint": endpoint_url("token"),
		"registration_endpoint": endpoint_url("register") if registration_allowed() else None,
		"revocation_endpoint": endpoint_url("revoke"),
		"scopes_supported": list(scopes.SCOPES),
		"response_types_supported": ["code"],
		"response_modes_supported": ["query"],
		"grant_types_supported": list(clients.GRANT_TYPES),
		"token_endpoint_auth_methods_supported": list(clients.AUTH_METHODS),
		"revocation_endpoint_auth_methods_supported": list(clients.AUTH_METHODS),
		"code_challenge_methods_supported": ["S256"],
		"authorization_response_iss_parameter_supported": True,
		"client_id_metadata_document_supported": metadata_documents_allowed(),
	}
	return {name: value for name, value in metadata.items() if value is not None}


def openid_configuration() -> dict:
	"""The same server as an OpenID discovery document: clients that try it first (or only) find the
	same endpoints. It issues no ID tokens (no `openid` scope, no userinfo, no keys): a client that
	needs an OpenID provider's sign-in is not what this server is for."""
	return {**authorization_server_metadata(), "subject_types_supported": ["public"]}


DOCUMENTS = {
	"protected_resource": protected_resource_metadata,
	"authorization_server": authorization_server_metadata,
	"openid_configuration": openid_configuration,
}


class WellKnownPage:
	"""A page renderer (hooks.py `page_renderer`) for the documents at /.well-known/."""

	def __init__(self, path: str, http_status_code: int | None = None) -> None:
		self.document = well_known_documents().get("/" + (path or "").strip("/"))

	def can_render(self) -> bool:
		return self.document is not None

	def render(self) -> Response:
		response = Response(json.dumps(DOCUMENTS[self.document]()), mimetype="application/json")
		response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
		response.headers["Vary"] = "Host"  # addresses come from the request's host without host_name
		response.headers["Access-Control-Allow-Origin"] = "*"  # browser-based clients read it too
		return response


def www_authenticate(*, credentials_sent: bool, required_scope: str | None = None) -> str:
	"""The challenge of a refusal: where to learn how to sign in, and with which scopes; then the
	static schemes the hub also takes."""
	challenge = [f'Bearer realm="integration_hub", resource_metadata="{resource_metadata_url()}"']
	if required_scope:
		challenge.append(f'error="insufficient_scope", scope="{required_scope}"')
	else:
		challenge.append(f'scope="{" ".join(scopes.SCOPES)}"')
		if credentials_sent:
			challenge.append('error="invalid_token"')
	return ", ".join(challenge) + ', Token realm="integration_hub"'

"""The site's authorization server for AI assistants, as the MCP authorization specification asks.

An assistant that knows only the hub's MCP address (`SITE/api/method/integration_hub.api.mcp`) is
answered 401 with a challenge naming the Protected Resource Metadata (RFC 9728); that names this site
as its authorization server, whose metadata (RFC 8414) gives the endpoints. The assistant registers
(RFC 7591, or by a Client ID Metadata Document), sends the user to sign in with Frappe's own login and
consent, and exchanges the code (PKCE S256 required) for tokens bound to the hub as their resource
(RFC 8707). A token acts as the user through Frappe's permissions, narrowed by what the user consented
to, exactly as a Hub API key is narrowed by its scopes.

urls.py       the addresses: the resource, the issuer, the endpoints, the well-known documents
scopes.py     the OAuth scopes (hub:read, hub:write, hub:submit, hub:call) and what each allows
settings.py   who may connect assistants, and token lifetimes (Hub Assistant Settings)
clients.py    registered applications: dynamic registration, metadata documents, redirect URIs
tokens.py     codes and tokens, stored only as salted hashes; the bearer authentication of a request
consent.py    what the user is asked, and the connection their answer records
server.py     the protocol, by authlib: authorization code with PKCE, refresh rotation, revocation
metadata.py   the documents at /.well-known/ and the challenge of a 401 or 403

The HTTP edges are `api/oauth.py` (endpoints) and `metadata.WellKnownPage` (a page renderer).
"""

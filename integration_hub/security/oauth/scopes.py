"""The OAuth scopes of the hub, what each allows, and the check of a token's scopes on a request.

Four coarse scopes say what kind of thing an assistant may do; the consent the user gives (which
operations on which resources, which methods and reports) narrows it further, as a key's scopes do.
A request beyond the token's scopes is refused 403 with `error="insufficient_scope"` and the scope it
needs, so that a client can ask the user for more (the MCP specification's step-up).
"""

from frappe import _

from integration_hub.exceptions import InsufficientScope
from integration_hub.security.api_keys import current_key

READ, WRITE, SUBMIT, CALL = "hub:read", "hub:write", "hub:submit", "hub:call"
SCOPES = (READ, WRITE, SUBMIT, CALL)
OPERATION_SCOPES = {
	"read": READ,
	"changes": READ,
	"create": WRITE,
	"update": WRITE,
	"delete": WRITE,
	"submit": SUBMIT,
	"cancel": SUBMIT,
}
# Each endpoint of the document API (and the function of each MCP tool) and the scope it needs.
ENDPOINT_SCOPES = {
	"get_document": READ,
	"list_documents": READ,
	"changes": READ,
	"run_report": READ,
	"upsert": WRITE,
	"create_document": WRITE,
	"bulk_upsert": WRITE,
	"delete_document": WRITE,
	"submit_document": SUBMIT,
	"cancel_document": SUBMIT,
	"amend_document": SUBMIT,
	"call_method": CALL,
}


def describe_scope(scope: str) -> str:
	return {
		READ: _("Read documents, their changes and reports"),
		WRITE: _("Create, change and delete documents"),
		SUBMIT: _("Submit, cancel and amend documents"),
		CALL: _("Call methods"),
	}[scope]


def parse(scope: str | None) -> list[str]:
	"""The hub's scopes in a requested scope string, in their order; none of them named means all (the
	user's consent narrows them). Others (openid, offline_access…) are left out rather than refused:
	clients add them by habit."""
	asked = set((scope or "").split())
	return [s for s in SCOPES if s in asked] or list(SCOPES)


# What describes the API needs no scope: it shows only what the token may use.
UNSCOPED_ENDPOINTS = frozenset(("ping", "openapi", "describe", "mcp"))


def require(endpoint: str | None) -> None:
	"""Refuse (403 insufficient_scope) a request an OAuth token's scopes do not cover; keys have none.
	An endpoint nobody gave a scope is refused to tokens (a new endpoint is not open by omission)."""
	key = current_key()
	if key is None or key.oauth_scopes is None or endpoint in UNSCOPED_ENDPOINTS:
		return
	needed = ENDPOINT_SCOPES.get(endpoint)
	if needed in key.oauth_scopes:
		return
	raise InsufficientScope(
		_("This assistant was not allowed to {0}: sign it in again and allow it").format(
			describe_scope(needed).lower() if needed else _("call {0}").format(endpoint)
		),
		# The scopes to ask for: the token's and the one it lacks, so that signing in again for more
		# does not lose what it had (the MCP specification's step-up).
		" ".join(s for s in SCOPES if s in key.oauth_scopes or s == needed),
	)


def within(granted: dict[str, frozenset[str]], token_scopes: frozenset[str]) -> dict[str, frozenset[str]]:
	"""A connection's operations per resource, within a token's scopes (a token refreshed with fewer
	scopes, or issued before the connection was widened, keeps to its own)."""
	return {
		doctype: frozenset(op for op in ops if OPERATION_SCOPES.get(op) in token_scopes)
		for doctype, ops in granted.items()
	}

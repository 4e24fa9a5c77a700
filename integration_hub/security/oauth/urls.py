"""The addresses of the authorization server and the resource it protects, on this site.

The resource is the hub's MCP endpoint: tokens are issued for it (RFC 8707) and accepted there and by
the document API it fronts. The issuer has a path of its own (`/api/method/integration_hub.api.oauth`)
so that its metadata and OpenID discovery document live beside Frappe's own OAuth provider (whose
`/.well-known/openid-configuration` stays Frappe's) instead of replacing them.

Addresses come from `frappe.utils.get_url`: the site's `host_name` when set (as it should be behind a
proxy that ends TLS: `https://erp.example.com`), else the request's host.
"""

from frappe.utils import get_url

from integration_hub.paths import MCP_PATH

OAUTH_METHOD = "integration_hub.api.oauth"
ISSUER_PATH = f"/api/method/{OAUTH_METHOD}"
PROTECTED_RESOURCE_WELL_KNOWN = "/.well-known/oauth-protected-resource"
AUTHORIZATION_SERVER_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OPENID_WELL_KNOWN = "/.well-known/openid-configuration"


def site_url() -> str:
	return get_url().rstrip("/")


def resource_url() -> str:
	return site_url() + MCP_PATH


def issuer() -> str:
	return site_url() + ISSUER_PATH


def endpoint_url(name: str) -> str:
	return f"{issuer()}.{name}"


def resource_metadata_url() -> str:
	"""RFC 9728 §3.1: the well-known prefix inserted before the resource's path."""
	return site_url() + PROTECTED_RESOURCE_WELL_KNOWN + MCP_PATH


def well_known_documents() -> dict[str, str]:
	"""Each well-known path served, and which document it serves: the path-inserted forms (RFC 8414
	§3.1, RFC 9728 §3.1) and, for clients that look only at the root, the root forms."""
	return {
		PROTECTED_RESOURCE_WELL_KNOWN + MCP_PATH: "protected_resource",
		PROTECTED_RESOURCE_WELL_KNOWN: "protected_resource",
		AUTHORIZATION_SERVER_WELL_KNOWN + ISSUER_PATH: "authorization_server",
		AUTHORIZATION_SERVER_WELL_KNOWN: "authorization_server",
		OPENID_WELL_KNOWN + ISSUER_PATH: "openid_configuration",
	}

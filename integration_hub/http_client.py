"""The one way the app calls other systems over HTTP: a requests session with a timeout on every
request, TLS verification, no ambient credentials, and a guard against private addresses.

The URLs the app calls (a sync connection's base URL, a webhook endpoint) are typed by an
administrator, but they must not turn the site into a proxy into its own network (server-side request
forgery): every request, and every redirect it follows, is refused before connecting when its host
resolves to a loopback, private, link-local, shared, reserved, multicast or unspecified address.
Sites that do integrate with machines on their own network (and the test suite, whose servers listen
on 127.0.0.1) set the site config key `integration_hub_allow_private_endpoints` to true.

The check resolves the host name itself, so a name that resolves differently between the check and
the connection (DNS rebinding) is not covered; the guard is a first line, not a network policy.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

import frappe
from frappe import _

import integration_hub

ALLOW_PRIVATE_ENDPOINTS = "integration_hub_allow_private_endpoints"
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 300
ALLOWED_SCHEMES = ("http", "https")


class OutboundRequestRefused(frappe.ValidationError):
	"""The URL may not be called: wrong scheme, or a host on a private network."""


def private_endpoints_allowed() -> bool:
	return bool(frappe.conf.get(ALLOW_PRIVATE_ENDPOINTS))


def check_url(url: str, allow_private: bool | None = None) -> None:
	"""Refuse a URL the app may not call (OutboundRequestRefused); resolve its host to check it."""
	if allow_private is None:
		allow_private = private_endpoints_allowed()
	parts = urlsplit(url)
	if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
		raise OutboundRequestRefused(
			_("Only http and https URLs with a host can be called: {0}").format(url[:200])
		)
	if allow_private:
		return
	port = parts.port or (443 if parts.scheme == "https" else 80)
	try:
		addresses = {
			info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
		}
	except socket.gaierror:
		return  # the request itself fails with a connection error that names the host
	for address in addresses:
		if not is_public_address(address):
			raise OutboundRequestRefused(
				_(
					"{0} resolves to the private address {1}; set the site config {2} to allow calls into the site's own network"
				).format(parts.hostname, address, ALLOW_PRIVATE_ENDPOINTS)
			)


def is_public_address(address: str) -> bool:
	ip = ipaddress.ip_address(address.split("%", 1)[0])
	if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
		ip = ip.ipv4_mapped
	return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class GuardedAdapter(HTTPAdapter):
	"""Checks the destination of every request it sends, redirects included."""

	def __init__(self, allow_private: bool, **kwargs) -> None:
		self.allow_private = allow_private
		super().__init__(**kwargs)

	def send(self, request, **kwargs):
		check_url(request.url, self.allow_private)
		return super().send(request, **kwargs)


class OutboundSession(requests.Session):
	"""A requests session whose requests always time out and only reach permitted addresses."""

	def __init__(self, timeout: float, verify: bool, allow_private: bool) -> None:
		super().__init__()
		self.timeout = timeout
		self.verify = verify
		# No proxies, .netrc credentials or CA bundles picked up from the worker's environment.
		self.trust_env = False
		self.max_redirects = 5
		self.headers["User-Agent"] = f"integration_hub/{integration_hub.__version__}"
		adapter = GuardedAdapter(allow_private)
		self.mount("http://", adapter)
		self.mount("https://", adapter)

	def request(self, method, url, *args, **kwargs):
		if kwargs.get("timeout") is None:
			kwargs["timeout"] = self.timeout
		return super().request(method, url, *args, **kwargs)


def outbound_session(timeout: float | None = None, verify: bool = True) -> OutboundSession:
	"""A session for calling another system; `timeout` (seconds) bounds connecting and each read."""
	timeout = min(max(float(timeout or DEFAULT_TIMEOUT), 1.0), MAX_TIMEOUT)
	return OutboundSession(timeout=timeout, verify=verify, allow_private=private_endpoints_allowed())

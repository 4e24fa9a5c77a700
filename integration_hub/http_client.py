"""The one way the app calls other systems over HTTP (webhook deliveries, sync connections): a requests
session with a timeout on every request, TLS verification, no ambient credentials, and a guard against
private addresses.

The URLs the app calls are typed by an administrator, but they must not turn the site into a proxy
into its own network (server-side request forgery). The guard runs inside urllib3's connection setup,
for every connection a session opens (redirects included): the host is resolved once, every address it
resolves to must be public (not loopback, private, link-local, shared, reserved, multicast or
unspecified), and the socket connects only to those checked addresses (each in turn, as urllib3 would),
while the Host header and the TLS name stay the host name. A name that resolves to a public address when it is saved and to a private
one when it is called (DNS rebinding) is therefore refused before any packet is sent.

Sites that do integrate with machines on their own network (and the test suite, whose servers listen
on 127.0.0.1) set the site config key `integration_hub_allow_private_endpoints` to true.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

import frappe
from frappe import _

import integration_hub

ALLOW_PRIVATE_ENDPOINTS = "integration_hub_allow_private_endpoints"
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 300
MAX_REDIRECTS = 5
ALLOWED_SCHEMES = ("http", "https")
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
USER_AGENT = f"integration_hub/{integration_hub.__version__}"


class OutboundRequestRefused(frappe.ValidationError):
	"""The URL may not be called: not http(s), or a host on a private network."""


def private_endpoints_allowed() -> bool:
	return bool(frappe.conf.get(ALLOW_PRIVATE_ENDPOINTS))


def is_public_address(address: str) -> bool:
	ip = ipaddress.ip_address(address.split("%", 1)[0])
	if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
		ip = embedded  # an IPv6 form (mapped, 6to4, NAT64, Teredo) of an IPv4 address reaches that address
	return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
	if ip.ipv4_mapped:
		return ip.ipv4_mapped
	if ip.sixtofour:
		return ip.sixtofour
	if ip.teredo:
		return ip.teredo[1]
	if ip in NAT64_PREFIX:
		return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
	return None


def public_addresses(host: str, port: int) -> list[str]:
	"""The addresses to try for `host`, in the resolver's order: OutboundRequestRefused when any address
	it resolves to is not public; socket.gaierror when it does not resolve."""
	host = host.strip("[]")
	infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
	addresses = list(dict.fromkeys(info[4][0] for info in infos))
	refused = [address for address in addresses if not is_public_address(address)]
	if refused or not addresses:
		raise OutboundRequestRefused(
			_(
				"{0} resolves to the private address {1}: the hub calls only public addresses unless the site config {2} is set"
			).format(host, ", ".join(refused), ALLOW_PRIVATE_ENDPOINTS)
		)
	return addresses


def check_url(url: str, allow_private: bool | None = None, must_resolve: bool = False) -> None:
	"""Refuse (OutboundRequestRefused) a URL the app may not call, before it is saved or called.
	A host that does not resolve passes unless `must_resolve`: the request itself then fails naming it."""
	parts = urlsplit(url or "")
	if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
		raise OutboundRequestRefused(
			_("Only http and https URLs with a host can be called: {0}").format((url or "")[:200])
		)
	if private_endpoints_allowed() if allow_private is None else allow_private:
		return
	try:
		public_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
	except socket.gaierror:
		if must_resolve:
			raise OutboundRequestRefused(_("The host {0} does not resolve").format(parts.hostname))


class _AddressGuard:
	"""Connects to the checked addresses of the host, each in turn as urllib3 itself would (see the
	module's docstring); the TLS name and Host header stay the host name."""

	def _new_conn(self):
		if private_endpoints_allowed():
			return super()._new_conn()
		host = self._dns_host
		failure = None
		try:
			for address in public_addresses(host, self.port):
				self._dns_host = address
				try:
					return super()._new_conn()
				except (NewConnectionError, ConnectTimeoutError) as e:
					failure = e  # e.g. an IPv6 address without a route: try the next one
			raise failure
		finally:
			self._dns_host = host


class _GuardedHTTPConnection(_AddressGuard, HTTPConnection):
	pass


class _GuardedHTTPSConnection(_AddressGuard, HTTPSConnection):
	pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
	ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
	ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
	def init_poolmanager(self, *args, **kwargs):
		super().init_poolmanager(*args, **kwargs)
		self.poolmanager.pool_classes_by_scheme = {
			"http": _GuardedHTTPConnectionPool,
			"https": _GuardedHTTPSConnectionPool,
		}


class OutboundSession(requests.Session):
	"""A requests session whose requests always time out and only reach permitted addresses."""

	def __init__(self, timeout: float, verify: bool, follow_redirects: bool) -> None:
		super().__init__()
		self.timeout = timeout
		self.verify = verify
		# No proxies, .netrc credentials or CA bundles picked up from the worker's environment.
		self.trust_env = False
		self.max_redirects = MAX_REDIRECTS
		self.follow_redirects = follow_redirects
		self.headers["User-Agent"] = USER_AGENT
		adapter = _GuardedAdapter(max_retries=0)
		self.mount("http://", adapter)
		self.mount("https://", adapter)

	def request(self, method, url, *args, **kwargs):
		if kwargs.get("timeout") is None:
			kwargs["timeout"] = self.timeout
		return super().request(method, url, *args, **kwargs)

	def get_redirect_target(self, response):
		# Without redirects, a 3xx is the answer (its status kept, its body read within the caller's
		# limit): requests would otherwise read the whole body before refusing to follow it.
		return super().get_redirect_target(response) if self.follow_redirects else None


def outbound_session(
	timeout: float | None = None, verify: bool = True, follow_redirects: bool = True
) -> OutboundSession:
	"""A session for calling another system; `timeout` (seconds) bounds connecting and each read. Close
	it when done (it keeps connections alive)."""
	timeout = min(max(float(timeout or DEFAULT_TIMEOUT), 1.0), MAX_TIMEOUT)
	return OutboundSession(timeout=timeout, verify=verify, follow_redirects=follow_redirects)

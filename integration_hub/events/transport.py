"""The one outbound HTTP session: timeouts, no redirects, no proxies from the environment, and a guard
that refuses loopback, private, link-local and other non-public addresses.

The guard runs inside urllib3's connection setup: the host is resolved once, every address it resolves
to is checked, and the socket connects to the checked address (the Host header and TLS name stay the
host name). A name that resolves to a public address when the subscription is saved and to a private one
at send time (DNS rebinding) is therefore refused at send time too, before any packet is sent.
Site config `integration_hub_allow_private_endpoints` turns the guard off (development and tests).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

import frappe
from frappe import _

import integration_hub

ALLOW_PRIVATE_CONFIG = "integration_hub_allow_private_endpoints"
USER_AGENT = f"integration_hub/{integration_hub.__version__} (Standard Webhooks)"


class PrivateAddressRefused(frappe.ValidationError):
	"""The endpoint resolves to an address the hub must not call."""


def private_endpoints_allowed() -> bool:
	return bool(frappe.conf.get(ALLOW_PRIVATE_CONFIG))


def is_public_address(address: str) -> bool:
	ip = ipaddress.ip_address(address.split("%", 1)[0])
	if ip.version == 6 and ip.ipv4_mapped:
		ip = ip.ipv4_mapped
	return ip.is_global and not ip.is_multicast


def public_address(host: str, port: int) -> str:
	"""The address to connect to for `host`: PrivateAddressRefused if any address it resolves to is not
	public; socket.gaierror if it does not resolve."""
	host = host.strip("[]")
	infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
	addresses = list(dict.fromkeys(info[4][0] for info in infos))
	refused = [address for address in addresses if not is_public_address(address)]
	if refused or not addresses:
		raise PrivateAddressRefused(
			_(
				"{0} resolves to a loopback, private or link-local address ({1}); the hub does not call it"
			).format(host, ", ".join(refused))
		)
	return addresses[0]


def check_endpoint_url(url: str) -> None:
	"""Refuse, with a clear message, URLs the hub must not call (used when a subscription is saved)."""
	parts = urlsplit(url or "")
	if parts.scheme not in ("http", "https") or not parts.hostname:
		frappe.throw(_("The endpoint must be an http or https URL with a host"), title=_("Invalid endpoint"))
	if private_endpoints_allowed():
		return
	try:
		public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
	except socket.gaierror:
		frappe.throw(
			_("The endpoint's host {0} does not resolve").format(frappe.bold(parts.hostname)),
			title=_("Invalid endpoint"),
		)
	except PrivateAddressRefused as e:
		frappe.throw(str(e), exc=PrivateAddressRefused, title=_("Endpoint not allowed"))


class _AddressGuard:
	def _new_conn(self):
		if private_endpoints_allowed():
			return super()._new_conn()
		host = self._dns_host
		self._dns_host = public_address(host, self.port)  # connect to the address that was checked
		try:
			return super()._new_conn()
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


def outbound_session() -> requests.Session:
	"""A session for calls to third-party endpoints; close it when done (it keeps connections alive)."""
	session = requests.Session()
	session.trust_env = False  # no proxies or .netrc credentials from the environment
	session.max_redirects = 0
	adapter = _GuardedAdapter(max_retries=0)
	session.mount("http://", adapter)
	session.mount("https://", adapter)
	session.headers["User-Agent"] = USER_AGENT
	return session

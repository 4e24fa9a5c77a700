"""What every remote client shares: an authenticated outbound session, remote errors, and the shape of
a page of remote records."""

from dataclasses import dataclass, field

import requests

import frappe
from frappe import _

from integration_hub.http_client import outbound_session
from integration_hub.request_id import HEADER as REQUEST_ID_HEADER
from integration_hub.request_id import current as current_request_id

MAX_ERROR_TEXT = 1000


class RemoteError(frappe.ValidationError):
	"""The remote refused a request or did not answer it; `status` is its HTTP status, if any."""

	def __init__(self, message: str, status: int | None = None, code: str | None = None, errors=None) -> None:
		super().__init__(message)
		self.message = message
		self.status = status
		self.code = code
		self.errors = errors or []


@dataclass
class RemoteEntry:
	"""One record read from a remote: an upsert with its data, or a deletion."""

	op: str  # upsert | delete
	remote_name: str
	modified: str | None = None
	data: dict = field(default_factory=dict)


@dataclass
class Page:
	entries: list[RemoteEntry]
	next_state: dict  # where the next page starts
	has_more: bool
	cursor: dict | None = None  # what to save once this page is written (default: next_state)

	@property
	def saved_state(self) -> dict:
		return self.cursor if self.cursor is not None else self.next_state


def connection_session(connection) -> requests.Session:
	"""An outbound session carrying the connection's credentials, timeout and TLS setting."""
	session = outbound_session(timeout=connection.timeout_seconds, verify=bool(connection.verify_tls))
	session.headers["Accept"] = "application/json"
	if request_id := current_request_id():  # a sync run's: the remote's logs and change feed name it
		session.headers[REQUEST_ID_HEADER] = request_id
	if connection.auth_type == "Token":
		secret = connection.get_password("api_secret", raise_exception=False)
		session.headers["Authorization"] = f"token {connection.api_key}:{secret}"
	elif connection.auth_type == "Bearer":
		session.headers["Authorization"] = (
			f"Bearer {connection.get_password('bearer_token', raise_exception=False)}"
		)
	elif connection.auth_type == "Basic":
		session.auth = (
			connection.username or "",
			connection.get_password("password", raise_exception=False) or "",
		)
	return session


class RemoteClient:
	"""A Hub Connection's authenticated session and base URL; close it when done."""

	def __init__(self, connection, session: requests.Session | None = None) -> None:
		self.connection = connection
		self.session = session or connection_session(connection)
		self.base = (connection.base_url or "").rstrip("/")

	def close(self) -> None:
		self.session.close()

	def url(self, path: str) -> str:
		return f"{self.base}/{(path or '').lstrip('/')}"


def send(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
	"""Send a request; a connection failure or timeout becomes a RemoteError naming the URL."""
	try:
		return session.request(method, url, **kwargs)
	except requests.Timeout:
		raise RemoteError(_("{0} did not answer in time").format(_short(url)))
	except requests.RequestException as e:
		raise RemoteError(_("Could not reach {0}: {1}").format(_short(url), type(e).__name__))


def json_body(response: requests.Response) -> object:
	try:
		return response.json()
	except ValueError:
		raise RemoteError(
			_("{0} answered with HTTP {1} and a body that is not JSON").format(
				_short(response.url), response.status_code
			),
			status=response.status_code,
		)


def _short(url: str) -> str:
	return url.split("?", 1)[0][:200]


def text_or_none(value: object) -> str | None:
	"""A remote value as text, or None where it is empty."""
	return None if value in (None, "") else str(value)


def error_text(value: object) -> str:
	return str(value or "")[:MAX_ERROR_TEXT]

"""Opaque, tamper-proof cursors: a signed position plus a fingerprint of the query it belongs to.

A cursor is `base64url(json payload) "." base64url(HMAC-SHA256)`, keyed by a secret derived from the
site's encryption key. A cursor altered by one byte, or presented with other filters, order, doctype or
user than the ones it was made for, is refused with INVALID_CURSOR.
"""

import base64
import hashlib
import hmac
import json

from frappe import _
from frappe.utils.password import get_encryption_key

from integration_hub.exceptions import InvalidCursor

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 4096


def fingerprint(**query) -> str:
	"""A short, stable digest of what a cursor is bound to (doctype, filters, order, user...)."""
	canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
	return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def encode_cursor(binding: str, position: dict) -> str:
	payload = _b64encode(
		json.dumps({"v": CURSOR_VERSION, "b": binding, "p": position}, separators=(",", ":")).encode()
	)
	return f"{payload}.{_b64encode(_sign(payload))}"


def decode_cursor(cursor: object, binding: str) -> dict:
	"""The position stored in `cursor`, after checking its signature and what it is bound to."""
	if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH or "." not in cursor:
		raise _invalid()
	payload, _dot, signature = cursor.partition(".")
	try:
		given_signature = _b64decode(signature)
	except ValueError:
		raise _invalid()
	if not hmac.compare_digest(_sign(payload), given_signature):
		raise _invalid()
	try:
		data = json.loads(_b64decode(payload))
	except ValueError:
		raise _invalid()
	if data.get("v") != CURSOR_VERSION or not isinstance(data.get("p"), dict):
		raise _invalid()
	if not hmac.compare_digest(str(data.get("b")), binding):
		raise InvalidCursor(
			_("This cursor was made for another query; use it with the same doctype, filters and order"),
			errors=[{"pointer": "/cursor", "detail": _("made for another query")}],
		)
	return data["p"]


def _invalid() -> InvalidCursor:
	return InvalidCursor(
		_("The cursor is malformed or was altered; pass next_cursor exactly as it was returned"),
		errors=[{"pointer": "/cursor", "detail": _("malformed or altered")}],
	)


def _sign(payload: str) -> bytes:
	return hmac.new(_cursor_key(), payload.encode(), hashlib.sha256).digest()


def _cursor_key() -> bytes:
	return hmac.new(get_encryption_key().encode(), b"integration_hub:cursor", hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
	return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
	try:
		return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
	except (ValueError, TypeError) as e:
		raise ValueError(str(e))

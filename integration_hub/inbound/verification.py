"""Signature schemes of inbound webhooks, each verified over the exact raw body, in constant time.

	Standard Webhooks   webhook-id, webhook-timestamp, webhook-signature (`v1,` + base64 HMAC-SHA256 of
	                    "{id}.{timestamp}.{body}" with the base64 key of a `whsec_` secret)
	Stripe              Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX...]; HMAC-SHA256 of "{t}.{body}"
	                    keyed with the signing secret as written
	GitHub              X-Hub-Signature-256: sha256=HEX; HMAC-SHA256 of the body
	Shared Secret Header  a named header equal to the secret

Schemes with a timestamp refuse one further than the endpoint's tolerance from the server's clock.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping

from frappe import _

from integration_hub.exceptions import HubError
from integration_hub.webhooks import signing

STANDARD_WEBHOOKS = "Standard Webhooks"
STRIPE = "Stripe"
GITHUB = "GitHub"
SHARED_SECRET = "Shared Secret Header"
DEFAULT_TOLERANCE_SECONDS = 300
# Headers never stored with an event: they carry signatures, secrets or credentials.
SECRET_HEADERS = frozenset(
	(
		"authorization",
		"cookie",
		"proxy-authorization",
		"webhook-signature",
		"stripe-signature",
		"x-hub-signature",
		"x-hub-signature-256",
	)
)


class InvalidSignature(HubError):
	http_status_code = 401
	code = "INVALID_SIGNATURE"
	title = "Invalid signature"


def verify(
	scheme: str,
	secret: str,
	headers: Mapping[str, str],
	body: bytes,
	*,
	tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
	secret_header: str = "",
	now: float | None = None,
) -> None:
	"""Return if the request is signed by the holder of `secret`; InvalidSignature (401) otherwise."""
	now = time.time() if now is None else now
	if scheme == STANDARD_WEBHOOKS:
		_verify_standard_webhooks(secret, headers, body, tolerance_seconds, now)
	elif scheme == STRIPE:
		_verify_stripe(secret, headers, body, tolerance_seconds, now)
	elif scheme == GITHUB:
		_verify_github(secret, headers, body)
	elif scheme == SHARED_SECRET:
		given = headers.get(secret_header or "") or ""
		if not secret_header or not hmac.compare_digest(given.encode(), secret.encode()):
			raise InvalidSignature(
				_("The {0} header is missing or wrong").format(secret_header or _("secret"))
			)
	else:
		raise InvalidSignature(_("Unknown verification scheme {0}").format(scheme))


def _verify_standard_webhooks(
	secret: str, headers: Mapping[str, str], body: bytes, tolerance: int, now: float
):
	message_id = headers.get("webhook-id")
	timestamp = _timestamp(headers.get("webhook-timestamp"), tolerance, now)
	signature_value = headers.get("webhook-signature")
	if not message_id or not signature_value:
		raise InvalidSignature(_("The webhook-id and webhook-signature headers are required"))
	try:
		valid = signing.verify(secret, message_id, timestamp, body, signature_value)
	except ValueError:
		raise InvalidSignature(_("The endpoint's secret is not a whsec_ secret"))
	if not valid:
		raise InvalidSignature(_("No signature in webhook-signature matches the body"))


def _verify_stripe(secret: str, headers: Mapping[str, str], body: bytes, tolerance: int, now: float):
	parts: dict[str, list[str]] = {}
	for item in (headers.get("Stripe-Signature") or "").split(","):
		key, sep, value = item.strip().partition("=")
		if sep:
			parts.setdefault(key, []).append(value)
	timestamp = _timestamp((parts.get("t") or [None])[0], tolerance, now)
	expected = hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest().encode()
	if not _any_matches(parts.get("v1") or [], expected):
		raise InvalidSignature(_("No v1 signature in Stripe-Signature matches the body"))


def _verify_github(secret: str, headers: Mapping[str, str], body: bytes):
	given = headers.get("X-Hub-Signature-256") or ""
	if not given.startswith("sha256="):
		raise InvalidSignature(_("The X-Hub-Signature-256 header is missing"))
	expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
	if not _any_matches([given[len("sha256=") :]], expected):
		raise InvalidSignature(_("X-Hub-Signature-256 does not match the body"))


def _any_matches(candidates: list[str], expected: bytes) -> bool:
	matched = False
	for candidate in candidates:
		matched |= hmac.compare_digest(candidate.strip().encode(), expected)
	return matched


def _timestamp(value: str | None, tolerance: int, now: float) -> int:
	try:
		timestamp = int((value or "").strip())
	except ValueError:
		raise InvalidSignature(_("The signature's timestamp is missing or not a number"))
	if abs(now - timestamp) > tolerance:
		raise InvalidSignature(
			_("The signature's timestamp is outside the tolerance of {0} seconds").format(tolerance)
		)
	return timestamp


def storable_headers(headers: Mapping[str, str], secret_header: str = "") -> dict[str, str]:
	"""The request's headers without signatures, credentials and the shared-secret header."""
	hidden = SECRET_HEADERS | ({secret_header.lower()} if secret_header else set())
	return {name: value for name, value in headers.items() if name.lower() not in hidden}

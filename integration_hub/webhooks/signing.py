"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

`webhook-signature` is `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")), where the secret
is the base64 part of `whsec_...`; several signatures are separated by spaces (during a rotation).
"""

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24


def generate_secret() -> str:
	return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
	"""The raw key of a `whsec_` secret; ValueError if it is not one of at least 24 bytes."""
	if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
		raise ValueError("the secret must start with whsec_")
	try:
		key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
	except (binascii.Error, ValueError):
		raise ValueError("the secret is not valid base64 after whsec_")
	if len(key) < MIN_SECRET_BYTES:
		raise ValueError(f"the secret must carry at least {MIN_SECRET_BYTES} random bytes")
	return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
	signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
	digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
	return "v1," + base64.b64encode(digest).decode()


def signature_header(active_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
	"""The `webhook-signature` value: one signature per active secret, newest first."""
	return " ".join(signature(secret, message_id, timestamp, body) for secret in active_secrets)


def headers(active_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
	return {
		"webhook-id": message_id,
		"webhook-timestamp": str(timestamp),
		"webhook-signature": signature_header(active_secrets, message_id, timestamp, body),
	}


def verify(secret: str, message_id: str, timestamp: int, body: bytes, signature_value: str) -> bool:
	"""Whether any `v1,` signature in a `webhook-signature` value matches, compared in constant time."""
	expected = signature(secret, message_id, timestamp, body).encode()
	matched = False
	for candidate in (signature_value or "").split():
		matched |= hmac.compare_digest(candidate.encode(), expected)
	return matched

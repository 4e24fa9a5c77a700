"""Idempotency keys: a retried write returns the first answer instead of running again.

A key is scoped to the calling user and kept at least 24 hours. The claim on a key is committed before
the operation runs, so a concurrent retry sees it (409); the stored answer is written in the same
transaction as the operation's own writes, so either both are kept or neither is.
"""

import hashlib
import json
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from integration_hub.exceptions import BadRequest, Conflict, IdempotencyKeyReused

MAX_KEY_LENGTH = 255
RETENTION_HOURS = 25  # "at least 24 hours", with an hour's margin for the hourly prune
# A claim older than this belongs to a request that died mid-way (its writes were rolled back).
ABANDONED_AFTER_SECONDS = 600


@dataclass
class StoredResponse:
	status: int
	body: str


@dataclass
class Claim:
	record: str
	replay: StoredResponse | None = None


def request_fingerprint(operation: str, arguments: dict) -> str:
	canonical = json.dumps({"operation": operation, "arguments": arguments}, sort_keys=True, default=str)
	return hashlib.sha256(canonical.encode()).hexdigest()


def claim(key: str, fingerprint: str, user: str) -> Claim:
	"""Claim `key` for this request, or return the stored answer of the request that claimed it."""
	if not key or len(key) > MAX_KEY_LENGTH:
		raise BadRequest(
			_("The Idempotency-Key header must be 1 to {0} characters").format(MAX_KEY_LENGTH),
			[{"pointer": "/headers/Idempotency-Key"}],
		)
	record = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()
	now = now_datetime()
	try:
		frappe.db.sql(
			"""insert into `tabHub Idempotency Key`
				(name, user, idempotency_key, request_hash, status, creation, modified, owner, modified_by)
			values (%s, %s, %s, %s, 'In Progress', %s, %s, %s, %s)""",
			(record, user, key, fingerprint, now, now, user, user),
		)
		return Claim(record)
	except Exception as e:
		if not frappe.db.is_duplicate_entry(e):
			raise
	return _existing(record, fingerprint, now)


def _existing(record: str, fingerprint: str, now) -> Claim:
	# A locking read sees the latest committed claim whatever this transaction's snapshot.
	row = frappe.db.sql(
		"""select request_hash, status, response_status, response_body, modified
		from `tabHub Idempotency Key` where name = %s lock in share mode""",
		(record,),
		as_dict=True,
	)[0]
	if row.request_hash != fingerprint:
		raise IdempotencyKeyReused(
			_("This Idempotency-Key was used with a different request; use a new key for a new request"),
			[{"pointer": "/headers/Idempotency-Key"}],
		)
	if row.status == "Completed":
		return Claim(record, StoredResponse(row.response_status, row.response_body))
	if row.modified > add_to_date(now, seconds=-ABANDONED_AFTER_SECONDS):
		raise Conflict(
			_("A request with this Idempotency-Key is still being processed; retry later"),
			[{"pointer": "/headers/Idempotency-Key"}],
		)
	frappe.db.sql("update `tabHub Idempotency Key` set modified = %s where name = %s", (now, record))
	return Claim(record)


def complete(record: str, status: int, body: str) -> None:
	frappe.db.sql(
		"""update `tabHub Idempotency Key`
		set status = 'Completed', response_status = %s, response_body = %s, modified = %s where name = %s""",
		(status, body, now_datetime(), record),
	)


def release(record: str) -> None:
	"""Forget a claim whose request failed in a way a retry may fix (conflict, rate limit, crash)."""
	frappe.db.sql("delete from `tabHub Idempotency Key` where name = %s", (record,))


def prune_expired_keys() -> None:
	cutoff = add_to_date(now_datetime(), hours=-RETENTION_HOURS)
	frappe.db.sql("delete from `tabHub Idempotency Key` where creation < %s", (cutoff,))

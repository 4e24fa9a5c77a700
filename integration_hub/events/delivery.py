"""Sending deliveries: claim, sign, POST, record, schedule the retry.

A delivery is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and its row stays locked while it is
sent, so any number of workers on any number of machines never send one delivery at once, and a worker
that dies mid-send releases its claim with its connection. The caller (a job, or a request for the
manual operations) commits after each delivery; nothing here commits.

Order: for one subscription and one document, a delivery is sent only when no earlier delivery of the
same pair is still Pending or Failed. Two transactions that change the same document are serialised by
the document's row lock, so the earlier one's delivery always has the smaller number and is committed
first.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import requests

import frappe
from frappe.utils import get_datetime, now_datetime
from frappe.utils.password import get_decrypted_password

from integration_hub.events import health, signing
from integration_hub.events.retry import parse_retry_after, parse_schedule, retry_delay
from integration_hub.events.transport import PrivateAddressRefused, outbound_session

DUE = ("Pending", "Failed")
FINAL = ("Succeeded", "Dead")
RESPONSE_LIMIT = 2048
RETRY_AFTER_STATUSES = (429, 503)
ENDPOINT_CACHE_SECONDS = 5
DEFAULT_TIMEOUT = 15
MAX_TIMEOUT = 60


@dataclass
class Endpoint:
	name: str
	url: str
	timeout: float
	schedule: list[int]
	secrets: list[str]
	loaded_at: float = field(default_factory=time.monotonic)


@dataclass
class Outcome:
	success: bool
	status_code: int | None
	duration_ms: int
	response: str
	retry_after: float | None = None


@dataclass
class Result:
	delivery: int
	status: str
	outcome: Outcome
	next_in_chain: int | None = None


# --- finding work ------------------------------------------------------------------------------


def due_heads(limit: int = 100, subscription: str | None = None) -> list[int]:
	"""Due deliveries of active subscriptions that no earlier delivery of the same document holds back,
	in event order. A plain (non-locking) read: `claim` re-checks under the row lock."""
	return [
		row[0]
		for row in frappe.db.sql(
			f"""select d.name from `tabHub Delivery` d
			join `tabHub Subscription` s on s.name = d.subscription
			where d.status in ('Pending', 'Failed') and d.next_attempt_at <= %(now)s
				and s.enabled = 1 and s.status = 'Active'
				{"and d.subscription = %(subscription)s" if subscription else ""}
				and not exists (
					select 1 from `tabHub Delivery` p
					where p.subscription = d.subscription and p.reference_doctype = d.reference_doctype
						and p.reference_name = d.reference_name and p.status in ('Pending', 'Failed')
						and p.name < d.name)
			order by d.name
			limit %(limit)s""",
			{"now": now_datetime(), "limit": limit, "subscription": subscription},
		)
	]


def pending_count() -> int:
	return frappe.db.sql("select count(*) from `tabHub Delivery` where status in ('Pending', 'Failed')")[0][0]


# --- one delivery ------------------------------------------------------------------------------


class Sender:
	"""Sends deliveries over one keep-alive session; use as a context manager."""

	def __init__(self) -> None:
		self.session = outbound_session()
		self._endpoints: dict[str, Endpoint] = {}

	def __enter__(self) -> "Sender":
		return self

	def __exit__(self, *exc) -> None:
		self.session.close()

	def deliver(self, name: int, *, manual: bool = False) -> Result | None:
		"""Claim and send one delivery; None if it is not due, not first in its document's order, or
		being sent by someone else. `manual` (redeliver) sends it whatever its state and order."""
		row = claim(name, manual=manual)
		if row is None:
			return None
		endpoint = self._endpoint(row.subscription)
		outcome = send(self.session, endpoint, row.event, row.payload)
		status = record(row, endpoint, outcome, manual=manual)
		next_in_chain = None
		if status in FINAL and not manual and row.reference_doctype:
			next_in_chain = _next_in_chain(row)
		return Result(int(row.name), status, outcome, next_in_chain)

	def _endpoint(self, subscription: str) -> Endpoint:
		endpoint = self._endpoints.get(subscription)
		if endpoint is None or time.monotonic() - endpoint.loaded_at > ENDPOINT_CACHE_SECONDS:
			endpoint = self._endpoints[subscription] = load_endpoint(subscription)
		return endpoint


def claim(name: int, *, manual: bool = False):
	conditions = "" if manual else "and d.status in ('Pending', 'Failed') and d.next_attempt_at <= %(now)s"
	rows = frappe.db.sql(
		f"""select d.name, d.event, d.subscription, d.reference_doctype, d.reference_name, d.status,
			d.attempt_count, e.payload
		from `tabHub Delivery` d join `tabHub Event` e on e.name = d.event
		where d.name = %(name)s {conditions}
		for update skip locked""",
		{"name": name, "now": now_datetime()},
		as_dict=True,
	)
	if not rows:
		return None
	row = rows[0]
	if not manual and row.reference_doctype and _held_back(row):
		return None
	return row


def _held_back(row) -> bool:
	return bool(
		frappe.db.sql(
			"""select 1 from `tabHub Delivery`
			where subscription = %s and reference_doctype = %s and reference_name = %s
				and status in ('Pending', 'Failed') and name < %s
			limit 1""",
			(row.subscription, row.reference_doctype, row.reference_name, row.name),
		)
	)


def _next_in_chain(row) -> int | None:
	following = frappe.db.sql(
		"""select name from `tabHub Delivery`
		where subscription = %s and reference_doctype = %s and reference_name = %s
			and status in ('Pending', 'Failed') and name > %s and next_attempt_at <= %s
		order by name limit 1""",
		(row.subscription, row.reference_doctype, row.reference_name, row.name, now_datetime()),
	)
	return following[0][0] if following else None


def load_endpoint(subscription: str) -> Endpoint:
	config = frappe.db.get_value(
		"Hub Subscription",
		subscription,
		["endpoint_url", "timeout_seconds", "retry_schedule", "previous_secret_expires_at"],
		as_dict=True,
	)
	secrets = [get_decrypted_password("Hub Subscription", subscription, "secret", raise_exception=False)]
	if config.previous_secret_expires_at and get_datetime(config.previous_secret_expires_at) > now_datetime():
		secrets.append(get_decrypted_password("Hub Subscription", subscription, "previous_secret", False))
	try:
		schedule = parse_schedule(config.retry_schedule)
	except ValueError:
		schedule = parse_schedule(None)
	return Endpoint(
		name=subscription,
		url=config.endpoint_url,
		timeout=min(max(int(config.timeout_seconds or DEFAULT_TIMEOUT), 1), MAX_TIMEOUT),
		schedule=schedule,
		secrets=[secret for secret in secrets if secret],
	)


def send(session: requests.Session, endpoint: Endpoint, event_id: str, payload: str) -> Outcome:
	body = payload.encode()
	headers = {"Content-Type": "application/json"}
	headers.update(signing.headers(endpoint.secrets, event_id, int(time.time()), body))
	started = time.monotonic()
	try:
		response = session.post(
			endpoint.url,
			data=body,
			headers=headers,
			timeout=endpoint.timeout,
			allow_redirects=False,
			stream=True,
		)
		try:
			text = response.raw.read(RESPONSE_LIMIT, decode_content=True)
		finally:
			response.close()
	except PrivateAddressRefused as e:
		return Outcome(False, None, _elapsed(started), str(e))
	except (requests.RequestException, OSError) as e:
		return Outcome(False, None, _elapsed(started), _error_text(e))
	success = 200 <= response.status_code < 300
	retry_after = None
	if response.status_code in RETRY_AFTER_STATUSES:
		retry_after = parse_retry_after(response.headers.get("Retry-After"))
	return Outcome(success, response.status_code, _elapsed(started), _text(text), retry_after)


def _elapsed(started: float) -> int:
	return int((time.monotonic() - started) * 1000)


def _text(raw: bytes) -> str:
	return raw[:RESPONSE_LIMIT].decode("utf-8", errors="replace")


def _error_text(error: Exception) -> str:
	return f"{type(error).__name__}: {error}"[:RESPONSE_LIMIT]


def record(row, endpoint: Endpoint, outcome: Outcome, *, manual: bool = False) -> str:
	"""Store the attempt and the delivery's new state; update the subscription's health."""
	now = now_datetime()
	_insert_attempt(row.name, now, outcome, manual)
	attempts = row.attempt_count + (0 if manual else 1)
	status, next_attempt_at, completed_at = row.status, None, None
	if outcome.success:
		status, completed_at = "Succeeded", now
	elif not manual:
		delay = retry_delay(endpoint.schedule, attempts, outcome.retry_after)
		if delay is None:
			status, completed_at = "Dead", now
		else:
			status, next_attempt_at = "Failed", now + timedelta(seconds=delay)
	frappe.db.sql(
		"""update `tabHub Delivery`
		set status = %(status)s, attempt_count = %(attempts)s, last_attempt_at = %(now)s,
			last_status_code = %(code)s, modified = %(now)s,
			next_attempt_at = coalesce(%(next)s, next_attempt_at),
			completed_at = coalesce(%(completed)s, completed_at)
		where name = %(name)s""",
		{
			"status": status,
			"attempts": attempts,
			"now": now,
			"code": outcome.status_code or 0,
			"next": next_attempt_at,
			"completed": completed_at,
			"name": row.name,
		},
	)
	if outcome.success:
		health.record_success(endpoint.name, now)
	else:
		health.record_failure(endpoint.name, now, gone=outcome.status_code == 410)
	return status


def _insert_attempt(delivery, now, outcome: Outcome, manual: bool) -> None:
	idx = frappe.db.sql("select count(*) from `tabHub Delivery Attempt` where parent = %s", (str(delivery),))[
		0
	][0]
	frappe.db.sql(
		"""insert into `tabHub Delivery Attempt`
			(name, creation, modified, owner, modified_by, parent, parenttype, parentfield, idx,
			attempted_at, status_code, success, duration_ms, manual, response)
		values (%s, %s, %s, %s, %s, %s, 'Hub Delivery', 'attempts', %s, %s, %s, %s, %s, %s, %s)""",
		(
			frappe.generate_hash(length=10),
			now,
			now,
			frappe.session.user,
			frappe.session.user,
			str(delivery),
			idx + 1,
			now,
			outcome.status_code or 0,
			int(outcome.success),
			outcome.duration_ms,
			int(manual),
			outcome.response,
		),
	)


def make_due(names: list[int], now=None) -> None:
	"""Send these deliveries again from a fresh retry schedule (recovery)."""
	if names:
		frappe.db.sql(
			"""update `tabHub Delivery`
			set status = 'Pending', attempt_count = 0, next_attempt_at = %s, completed_at = null, modified = %s
			where name in %s""",
			(now or now_datetime(), now or now_datetime(), tuple(names)),
		)

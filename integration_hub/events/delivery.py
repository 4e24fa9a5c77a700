"""Sending deliveries: claim, sign, POST, record, schedule the retry.

A delivery is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and its row stays locked while it is
sent, so any number of workers on any number of machines never send one delivery at once, and a worker
that dies mid-send releases its claim with its connection. The caller (a job, or a request for the
manual operations) commits after each delivery; nothing here commits.

Order: for one subscription and one document, a delivery is sent only once every earlier delivery of
the same pair has succeeded or died; an amendment counts as the document it amends (the deliveries'
`sequence_key`, outbox.sequence_key_of), so its events wait for the original's cancellation. `due_heads` picks only such deliveries: two transactions that
change the same document are serialised by the document's row lock, so an earlier event's delivery
always has the smaller number and commits first, and a delivery it found first in line stays first in
line (Succeeded and Dead are final; only an operator's recovery, a replay, sends an old one again).
After a delivery finishes, the next one of the same document is first in line for the next
`due_heads`.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import requests

import frappe
from frappe.utils import get_datetime, now_datetime
from frappe.utils.password import get_decrypted_password

from integration_hub.events import health
from integration_hub.events.retry import parse_retry_after, parse_schedule, retry_delay
from integration_hub.http_client import OutboundRequestRefused, outbound_session
from integration_hub.webhooks import signing

DUE = ("Pending", "Failed")
FINAL = ("Succeeded", "Dead")
RESPONSE_LIMIT = 2048
RETRY_AFTER_STATUSES = (429, 503)
ENDPOINT_CACHE_SECONDS = 5
HEALTH_REFRESH_SECONDS = 5
DEFAULT_TIMEOUT = 15
MAX_TIMEOUT = 60
REQUEST_ID_HEADER = "Hub-Request-Id"  # the X-Request-Id of the API call that caused the event


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
						and p.sequence_key = d.sequence_key and p.status in ('Pending', 'Failed')
						and p.name < d.name)
			order by d.name
			limit %(limit)s""",
			{"now": now_datetime(), "limit": limit, "subscription": subscription},
		)
	]


def pending_count() -> int:
	return frappe.db.sql("select count(*) from `tabHub Delivery` where status in ('Pending', 'Failed')")[0][0]


# --- sending a batch ---------------------------------------------------------------------------


class Sender:
	"""Sends deliveries over one keep-alive session; use as a context manager."""

	def __init__(self) -> None:
		self.session = outbound_session(follow_redirects=False)  # a receiver answers; it does not redirect
		self._endpoints: dict[str, Endpoint] = {}
		self._healthy_until: dict[str, float] = {}  # subscriptions this sender recently recorded healthy

	def __enter__(self) -> "Sender":
		return self

	def __exit__(self, *exc) -> None:
		self.session.close()

	def deliver_batch(self, names: list[int], *, deadline: float | None = None) -> list[Result]:
		"""Claim the given deliveries (found first in line by `due_heads`) that are still due and that
		nobody else is sending, send them one after the other, and record every attempt. The claims hold
		until the caller commits."""
		rows = claim(names)
		sent = []
		for row in rows:
			if deadline is not None and sent and time.monotonic() >= deadline:
				break  # the rest stay due for the next job
			endpoint = self._endpoint(row.subscription)
			sent.append((row, endpoint, send(self.session, endpoint, row.event, row.payload, row.request_id)))
		return self._record(sent, manual=False)

	def deliver(self, name: int, *, manual: bool = False) -> Result | None:
		"""Claim and send one delivery; None if it is not due or someone else is sending it. `manual`
		(redeliver) sends it whatever its state and order, and a failure does not change its state."""
		rows = claim([name], manual=manual)
		if not rows:
			return None
		endpoint = self._endpoint(rows[0].subscription)
		outcome = send(self.session, endpoint, rows[0].event, rows[0].payload, rows[0].request_id)
		return self._record([(rows[0], endpoint, outcome)], manual=manual)[0]

	def _record(self, sent: list[tuple], manual: bool) -> list[Result]:
		if not sent:
			return []
		statuses = record(sent, manual=manual)
		self._record_health(sent)
		return [
			Result(int(row.name), status, outcome)
			for (row, _endpoint, outcome), status in zip(sent, statuses, strict=True)
		]

	def _record_health(self, sent: list[tuple]) -> None:
		now = now_datetime()
		outcomes: dict[str, list[Outcome]] = {}
		for row, _endpoint, outcome in sent:
			outcomes.setdefault(row.subscription, []).append(outcome)
		for subscription, results in outcomes.items():
			successes = [i for i, outcome in enumerate(results) if outcome.success]
			failures = results[successes[-1] + 1 :] if successes else results
			if successes and (failures or self._healthy_until.get(subscription, 0) < time.monotonic()):
				# The subscription's row is shared by every worker: while all is well, one sender writes
				# it at most every few seconds.
				health.record_success(subscription, now)
				self._healthy_until[subscription] = time.monotonic() + HEALTH_REFRESH_SECONDS
			if failures:
				self._healthy_until.pop(subscription, None)
				gone = any(outcome.status_code == 410 for outcome in failures)
				health.record_failure(subscription, now, gone=gone, count=len(failures))

	def _endpoint(self, subscription: str) -> Endpoint:
		endpoint = self._endpoints.get(subscription)
		if endpoint is None or time.monotonic() - endpoint.loaded_at > ENDPOINT_CACHE_SECONDS:
			endpoint = self._endpoints[subscription] = load_endpoint(subscription)
		return endpoint


def claim(names: list[int], *, manual: bool = False) -> list:
	"""Lock the deliveries among `names` that are due (any, if `manual`) and not locked by someone else."""
	if not names:
		return []
	conditions = "" if manual else "and d.status in ('Pending', 'Failed') and d.next_attempt_at <= %(now)s"
	return frappe.db.sql(
		f"""select d.name, d.event, d.subscription, d.status, d.attempt_count, d.recorded_attempts, d.payload,
			d.request_id
		from `tabHub Delivery` d
		where d.name in %(names)s {conditions}
		order by d.name
		for update skip locked""",
		{"names": tuple(names), "now": now_datetime()},
		as_dict=True,
	)


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


def send(
	session: requests.Session, endpoint: Endpoint, event_id: str, payload: str, request_id: str | None = None
) -> Outcome:
	body = payload.encode()
	headers = {"Content-Type": "application/json"}
	if request_id:
		headers[REQUEST_ID_HEADER] = request_id
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
	except OutboundRequestRefused as e:
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


def record(sent: list[tuple], *, manual: bool = False) -> list[str]:
	"""Store the attempts and the deliveries' new states (two statements for the whole batch)."""
	now = now_datetime()
	attempts, states, statuses = [], [], []
	for row, endpoint, outcome in sent:
		attempts.append(
			(
				frappe.generate_hash(length=10),
				now,
				now,
				frappe.session.user,
				frappe.session.user,
				str(row.name),
				row.recorded_attempts + 1,
				now,
				outcome.status_code or 0,
				int(outcome.success),
				outcome.duration_ms,
				int(manual),
				outcome.response,
			)
		)
		scheduled_attempts = row.attempt_count + (0 if manual else 1)
		status, next_attempt_at, completed_at = row.status, None, None
		if outcome.success:
			status, completed_at = "Succeeded", now
		elif not manual:
			delay = retry_delay(endpoint.schedule, scheduled_attempts, outcome.retry_after)
			if delay is None:
				status, completed_at = "Dead", now
			else:
				status, next_attempt_at = "Failed", now + timedelta(seconds=delay)
		statuses.append(status)
		states.append(
			(
				row.name,
				status,
				scheduled_attempts,
				row.recorded_attempts + 1,
				now,
				outcome.status_code or 0,
				now,
				next_attempt_at,
				completed_at,
			)
		)
	frappe.db.sql(
		f"""insert into `tabHub Delivery Attempt`
			(name, creation, modified, owner, modified_by, parent, parenttype, parentfield, idx,
			attempted_at, status_code, success, duration_ms, manual, response)
		values {", ".join(["(%s, %s, %s, %s, %s, %s, 'Hub Delivery', 'attempts', %s, %s, %s, %s, %s, %s, %s)"] * len(attempts))}""",
		[value for attempt in attempts for value in attempt],
	)
	# Every row exists and is locked by this transaction: the insert only ever takes its update branch,
	# which sets each delivery's own values in one statement.
	frappe.db.sql(
		f"""insert into `tabHub Delivery`
			(name, status, attempt_count, recorded_attempts, last_attempt_at, last_status_code, modified,
			next_attempt_at, completed_at)
		values {", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(states))}
		on duplicate key update
			status = value(status), attempt_count = value(attempt_count),
			recorded_attempts = value(recorded_attempts), last_attempt_at = value(last_attempt_at),
			last_status_code = value(last_status_code), modified = value(modified),
			next_attempt_at = coalesce(value(next_attempt_at), next_attempt_at),
			completed_at = coalesce(value(completed_at), completed_at)""",
		[value for state in states for value in state],
	)
	return statuses


def make_due(names: list[int], now=None) -> None:
	"""Send these deliveries again from a fresh retry schedule (recovery)."""
	if names:
		frappe.db.sql(
			"""update `tabHub Delivery`
			set status = 'Pending', attempt_count = 0, next_attempt_at = %s, completed_at = null, modified = %s
			where name in %s""",
			(now or now_datetime(), now or now_datetime(), tuple(names)),
		)

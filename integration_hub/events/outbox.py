"""The transactional outbox: doc_events hooks write each event in the writer's own transaction.

For every enabled subscription of the document's DocType that wants the change (and whose condition
holds), an immutable Hub Event (the frozen payload; its name is the `webhook-id`) and its Hub Delivery
are written next to the document change, as one row: they commit together or not at all. After the commit the
delivery job is queued unless one is already queued (it sends everything due before it stops); if
Redis cannot take it, the deliveries wait in the database for the every-minute sweep, and the writer's
request is unaffected. A process asks Redis whether a job is queued at most every MARKER_SEEN_SECONDS,
not after every commit (see `_enqueue_delivery`).
"""

import math
import time
from datetime import datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import redis

import frappe
from frappe import _
from frappe.utils import get_system_timezone
from frappe.utils.safe_exec import get_safe_globals

from integration_hub.documents.deferred import defer, deferring_now
from integration_hub.events.payload import build_body, event_type, test_body
from integration_hub.events.subscriptions import (
	SUBSCRIPTIONS_LOCK,
	Guess,
	Subscription,
	confirm_guess,
	guessed_map,
	subscriptions_for,
)
from integration_hub.exceptions import ConditionFailed
from integration_hub.request_id import current as current_request_id

# Frappe's document hooks -> the event they announce (None: decided by the document's state).
ACTIONS = {
	"after_insert": "created",
	"on_update": None,
	"on_update_after_submit": "updated",
	"on_submit": "submitted",
	"on_cancel": "cancelled",
	"after_delete": "deleted",
}
DELIVER_JOB = "integration_hub.events.jobs.deliver"
# Later releases refuse to enqueue past the site's `max_queued_jobs` (frappe.QueueOverloaded; 15.44 has
# no such limit): after a commit that is no reason to fail the writer either.
QUEUE_FULL = tuple(filter(None, [getattr(frappe, "QueueOverloaded", None)]))
WAKE_MARKER = "integration_hub:delivery_job_queued"
WAKE_MARKER_SECONDS = 60  # a job lost from the queue delays deliveries by this at most (or the sweep)
# A process that found the marker set (or set it) skips the check for this long: one cache round trip
# every quarter second instead of one a commit. The job looks for due deliveries until
# DELIVERY_JOB_LOOKS_SECONDS after it cleared the marker, which covers every commit that skipped it.
MARKER_SEEN_SECONDS = 0.25
DELIVERY_JOB_LOOKS_SECONDS = MARKER_SEEN_SECONDS + 0.25  # + the cache's answer's way back, with room
_marker_seen_at: dict[str, float] = {}  # site -> time.monotonic() when this process last saw the marker
_PENDING = "integration_hub_deliveries_pending"


class Event(NamedTuple):
	"""An event to write: what write_event records for one subscription."""

	subscription: str
	type: str
	reference_doctype: str | None
	reference_name: str | None
	sequence_key: str | None  # what its delivery is ordered with (sequence_key_of)
	body: str
	moment: datetime  # when it happened, in UTC
	request_id: str | None


def on_document_event(doc, method: str | None = None) -> None:
	if frappe.flags.in_install or frappe.flags.in_migrate:
		return
	action = _action(doc, method)
	if not action:
		return
	moment = datetime.now(timezone.utc)
	if _write_events_from_guess(doc, action, moment):
		return
	for event in _events(subscriptions_for(doc.doctype), doc, action, moment):
		write_event(event)


def _events(subscriptions: list[Subscription], doc, action: str, moment: datetime) -> list[Event]:
	"""The event of each subscription that wants this change and may see it."""
	events = []
	request_id = current_request_id()
	sequence_key = None
	for subscription in subscriptions:
		if subscription.wants(action) and _condition_holds(subscription, doc):
			body = build_body(subscription, doc, action, moment, request_id)
			if body is not None:
				type_ = event_type(doc.doctype, action)
				sequence_key = sequence_key or sequence_key_of(doc)
				events.append(
					Event(
						subscription.name,
						type_,
						doc.doctype,
						doc.name,
						sequence_key,
						body,
						moment,
						request_id,
					)
				)
	return events


def sequence_key_of(doc) -> str:
	"""What a document's deliveries are ordered with: its name, or for an amendment the first document
	of its amendment chain, so that a subscriber hears an invoice cancelled before its amendment is
	submitted (Frappe names an amendment after the one it amends: SINV-0001-1, SINV-0001-2)."""
	root, hops = doc.name, 0
	amended_from = doc.get("amended_from")
	while amended_from and hops < MAX_AMENDMENTS:
		root, hops = amended_from, hops + 1
		amended_from = frappe.db.get_value(doc.doctype, amended_from, "amended_from")
	return root


MAX_AMENDMENTS = 100  # a chain longer than this (or a cycle made by hand) is ordered from there


def _write_events_from_guess(doc, action: str, moment: datetime) -> bool:
	"""A transaction's first event, decided by the map this process last read and written by one
	statement that also confirms that map under its share lock (events/subscriptions.py): True when it
	was, the map being current. False (nothing written) when there is nothing to guess from, the guess
	sends nothing (the map must be read to know), or the map has changed since: then the caller reads it
	and decides again. Inside a bulk call the events are written at its end, too late to confirm."""
	guess = guessed_map()
	if guess is None or not guess.mapping.get(doc.doctype) or deferring_now():
		return False
	try:
		events = _events(guess.mapping[doc.doctype], doc, action, moment)
	except ConditionFailed:
		return False  # perhaps a subscription that is gone: the current map decides
	if not events or not _insert_event_confirming(_delivery_values(events[0], new_event_id()), guess):
		return False
	confirm_guess(guess)
	_deliver_after_commit()
	for event in events[1:]:
		write_event(event)
	return True


def _action(doc, method: str | None) -> str | None:
	if method != "on_update":
		return ACTIONS.get(method)
	# An insert announces itself in after_insert, a submission in on_submit. `doc._action` is Frappe's
	# internal name for what a save does ("save", "submit", "update_after_submit"...): the same on
	# 15.44.2 and 15.75.0, and exercised on both benches by the event tests.
	if doc.flags.in_insert or getattr(doc, "_action", None) != "save":
		return None
	return "updated"


def _condition_holds(subscription: Subscription, doc) -> bool:
	if not subscription.condition:
		return True
	context = {"doc": doc, "utils": get_safe_globals().get("frappe").get("utils")}
	try:
		return bool(frappe.safe_eval(subscription.condition, eval_locals=context))
	except Exception as e:
		# Like Frappe's webhooks: no change goes unannounced because a condition could not be evaluated.
		frappe.throw(
			_("The condition of Hub Subscription {0} failed on this document: {1}").format(
				subscription.name, e
			),
			exc=ConditionFailed,
			title=_("Webhook condition failed"),
		)


def write_event(event: Event, deliver_after_commit: bool = True) -> str:
	"""Insert the event and its delivery: one row of `tabHub Delivery` (Hub Event is a read-only view of
	its event part), a plain insert of the hub's own bookkeeping without document hooks; inside a bulk
	call (documents/deferred.py), with the call's other events when it ends. Returns the event id."""
	event_id = new_event_id()
	values = _delivery_values(event, event_id)
	if not defer(_insert_events, values):
		_insert_events([values])
	if deliver_after_commit:
		_deliver_after_commit()
	return event_id


_DELIVERY_COLUMNS = """(name, creation, modified, owner, modified_by, event, subscription, event_type,
	reference_doctype, reference_name, sequence_key, occurred_at, request_id, payload, status,
	attempt_count, next_attempt_at)"""
# `Hub Delivery` is named by autoincrement, which Frappe backs with this sequence: the numbers order
# deliveries.
_DELIVERY_VALUES = (
	"nextval(`hub_delivery_id_seq`), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'Pending', 0, %s"
)


def _insert_events(rows: list[tuple]) -> None:
	"""Insert events (each row its _delivery_values) in one statement, in their order."""
	frappe.db.sql(
		f"insert into `tabHub Delivery` {_DELIVERY_COLUMNS} "
		f"values {', '.join([f'({_DELIVERY_VALUES})'] * len(rows))}",
		[value for row in rows for value in row],
	)


def _insert_event_confirming(values: tuple, guess: Guess) -> bool:
	"""Insert the event only if the subscription map's row still holds the guessed map, share-locking
	it as locks.read_shared does (a locking read: the latest committed state); False when it does not,
	and nothing was written."""
	frappe.db.sql(
		f"""insert into `tabHub Delivery` {_DELIVERY_COLUMNS}
		select {_DELIVERY_VALUES} from `tabHub Lock`
		where name = %s and md5(coalesce(data, '')) = %s lock in share mode""",
		[*values, SUBSCRIPTIONS_LOCK, guess.digest],
	)
	# Whether the conditional insert wrote a row: the driver's cursor, which Frappe keeps as `_cursor`
	# (frappe.db.sql returns no row count); the same on 15.44.2 and 15.75.0 (the outbox tests).
	return frappe.db._cursor.rowcount == 1


def _delivery_values(event: Event, event_id: str) -> tuple:
	"""The values of _DELIVERY_VALUES' placeholders. The time (system time zone, naive, as Frappe stores
	times) is passed as text, which MariaDB reads as it would the datetime: PyMySQL would format a
	datetime parameter anew four times a row."""
	now = str(event.moment.astimezone(ZoneInfo(get_system_timezone())).replace(tzinfo=None))
	user = frappe.session.user
	return (
		now,
		now,
		user,
		user,
		event_id,
		event.subscription,
		event.type,
		event.reference_doctype,
		event.reference_name,
		event.sequence_key,
		now,
		event.request_id,
		event.body,
		now,
	)


def write_test_event(subscription: str) -> int:
	"""A `hub.test` event for the subscription, to be sent by the caller; returns its delivery number."""
	moment = datetime.now(timezone.utc)
	request_id = current_request_id()
	body = test_body(subscription, moment, request_id)
	event_id = write_event(
		Event(subscription, "hub.test", None, None, None, body, moment, request_id),
		deliver_after_commit=False,
	)
	return frappe.db.get_value("Hub Delivery", {"event": event_id})


def new_event_id() -> str:
	"""`evt_` + 12 hex digits of milliseconds + 12 random: unique, and ordered by time (index locality)."""
	return f"evt_{time.time_ns() // 1_000_000:012x}{frappe.generate_hash(length=12)}"


# --- after commit: wake a delivery job -----------------------------------------------------------


def _deliver_after_commit() -> None:
	if not getattr(frappe.local, _PENDING, False):
		setattr(frappe.local, _PENDING, True)
		frappe.db.after_commit.add(_enqueue_delivery)
		frappe.db.after_rollback.add(_forget_pending)


def _forget_pending() -> None:
	setattr(frappe.local, _PENDING, False)


def _enqueue_delivery() -> None:
	_forget_pending()
	site = frappe.local.site
	if time.monotonic() - _marker_seen_at.get(site, -math.inf) < MARKER_SEEN_SECONDS:
		# This process saw the marker a moment ago: a delivery job is queued or has just started, and it
		# keeps looking long enough after it clears the marker to send this commit's deliveries too.
		return
	marker = frappe.cache.make_key(WAKE_MARKER)
	try:
		# While a delivery job is queued and not yet started, it will send this commit's deliveries too:
		# the marker (which the job clears when it starts) spares the queue a job per commit.
		if frappe.cache.set(marker, 1, nx=True, ex=WAKE_MARKER_SECONDS):
			try:
				frappe.enqueue(DELIVER_JOB, queue="default")
			except BaseException:
				frappe.cache.delete(marker)  # the next commit tries again
				raise
		_marker_seen_at[site] = time.monotonic()
	except (redis.exceptions.RedisError, OSError, *QUEUE_FULL):
		# The transaction has committed: the deliveries are safe in the database and the sweep sends them
		# within a minute. Failing here would only turn the writer's successful request into an error.
		frappe.logger("integration_hub").warning(
			"Could not queue the webhook delivery job; the sweep will send the deliveries", exc_info=True
		)


def delivery_job_started() -> float:
	"""Called by the delivery job as it starts: commits from now on queue a new job, except in processes
	that saw the marker less than MARKER_SEEN_SECONDS ago, so the job keeps looking for due deliveries
	until DELIVERY_JOB_LOOKS_SECONDS after this (the returned `time.monotonic()`)."""
	_marker_seen_at.pop(frappe.local.site, None)
	try:
		frappe.cache.delete(frappe.cache.make_key(WAKE_MARKER))
	except (redis.exceptions.RedisError, OSError):
		pass  # the marker went with Redis (it expires anyway); the job sends what is due regardless
	return time.monotonic()

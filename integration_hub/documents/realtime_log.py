"""Frappe's after-commit realtime log, with its check for repeats made a set lookup for bulk writes.

Each document Frappe inserts or saves queues two Desk messages (`doc_update`, `list_update`) to publish
after the commit, and Frappe v15 first looks for the message among those already queued
(`frappe.realtime.publish_realtime`: `params not in frappe.local._realtime_log`): a scan of a list, so a
transaction that writes n documents makes about n² comparisons. At a bulk call's 1,000 documents that
costs a tenth of the whole insert (a quarter of a millisecond a document), and five calls of 200
(`frappe.client.insert_many`) pay a fifth of it. Inside a bulk call the log is a list that also keeps
a set of what it holds: the same messages are queued once each, in the same order.

After the commit Frappe publishes each message with a round trip of its own to Redis
(`flush_realtime_log`): two a document, a tenth of a bulk call's time again. A log this module
created is flushed by `flush_in_one_round_trip` instead: the same messages, in the same order, to the
same channel, in one pipeline, as compact JSON (frappe.as_json indents, which makes Python's json
encode in pure Python: 35 µs a message against 10 here). On rollback it is cleared as Frappe's is.
"""

import json
from contextlib import suppress

import redis

import frappe
from frappe.realtime import clear_realtime_log
from frappe.utils.background_jobs import get_redis_connection_without_auth

from integration_hub.json_text import dumps

# frappe.realtime's private name for its log (frappe.local._realtime_log): Frappe has no public way to
# hand it a faster list. The same on 15.44.2 and 15.75.0; the bulk and realtime tests run on both.
_LOG = "_realtime_log"


class RealtimeLog(list):
	"""A list of `[event, message, room]` whose `in` is a set lookup."""

	def __init__(self, items: list = ()) -> None:
		super().__init__(items)
		self._keys = {_key(params) for params in self}
		self._last: tuple[object, object] = (None, None)  # Frappe asks `in`, then appends the same list

	def __contains__(self, params: object) -> bool:
		return self._key_of(params) in self._keys

	def append(self, params: list) -> None:
		self._keys.add(self._key_of(params))
		super().append(params)

	def _key_of(self, params: object) -> object:
		if self._last[0] is not params:
			self._last = (params, _key(params))
		return self._last[1]


def use_indexed_realtime_log() -> None:
	"""Give this transaction's realtime log the set lookup (creating it as Frappe would)."""
	log = getattr(frappe.local, _LOG, None)
	if isinstance(log, RealtimeLog):
		return
	if log is None:  # else Frappe made it, and flushes it after the commit
		frappe.db.after_commit.add(flush_in_one_round_trip)
		frappe.db.after_rollback.add(clear_realtime_log)
	setattr(frappe.local, _LOG, RealtimeLog(log or []))


def flush_in_one_round_trip() -> None:
	"""frappe.realtime.flush_realtime_log with one pipeline for every message: each still its own
	PUBLISH on Frappe's channel, in the envelope of frappe.realtime.emit_via_redis (whose connection
	and error handling it shares), without its indentation."""
	log = getattr(frappe.local, _LOG, None) or []
	try:
		with suppress(redis.exceptions.ConnectionError):
			pipeline = get_redis_connection_without_auth().pipeline(transaction=False)
			site = frappe.local.site
			for event, message, room in log:
				envelope = {"event": event, "message": message, "room": room, "namespace": site}
				pipeline.publish("events", dumps(envelope))
			pipeline.execute()
	finally:
		clear_realtime_log()


def _key(params: object) -> object:
	"""Equal for messages that are equal (`==`, as Frappe compares them): the flat message Frappe sends
	for a document as its items; any other as JSON."""
	try:
		event, message, room = params
		return (event, room, frozenset(message.items()))
	except (TypeError, ValueError, AttributeError):
		return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)

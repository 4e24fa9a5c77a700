"""The transactional outbox: doc_events hooks write each event in the writer's own transaction.

For every enabled subscription of the document's DocType that wants the change (and whose condition
holds), an immutable Hub Event (the frozen payload; its name is the `webhook-id`) and its Hub Delivery
are inserted next to the document change: they commit together or not at all. After the commit one
background job is enqueued for the transaction's deliveries; if Redis cannot take it, the deliveries
wait in the database for the every-minute sweep, and the writer's request is unaffected.
"""

from datetime import datetime, timezone

import redis

import frappe
from frappe import _
from frappe.utils import convert_utc_to_system_timezone
from frappe.utils.safe_exec import get_safe_globals

from integration_hub.events.payload import build_body, event_type, test_body
from integration_hub.events.subscriptions import Subscription, subscriptions_for

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
_BATCH = "integration_hub_outbox_batch"


class ConditionFailed(frappe.ValidationError):
	pass


def on_document_event(doc, method: str | None = None) -> None:
	subscriptions = subscriptions_for(doc.doctype)
	if not subscriptions or frappe.flags.in_install or frappe.flags.in_migrate:
		return
	action = _action(doc, method)
	if not action:
		return
	moment = datetime.now(timezone.utc)
	for subscription in subscriptions:
		if subscription.wants(action) and _condition_holds(subscription, doc):
			body = build_body(subscription, doc, action, moment)
			if body is not None:
				write_event(
					subscription.name, event_type(doc.doctype, action), doc.doctype, doc.name, body, moment
				)


def _action(doc, method: str | None) -> str | None:
	if method != "on_update":
		return ACTIONS.get(method)
	# An insert announces itself in after_insert, a submission in on_submit.
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


def write_event(
	subscription: str,
	type_: str,
	reference_doctype: str | None,
	reference_name: str | None,
	body: str,
	moment: datetime,
	deliver_after_commit: bool = True,
) -> int:
	"""Insert a Hub Event and its Hub Delivery (bookkeeping rows: plain inserts, no document hooks);
	return the delivery's number, which orders deliveries."""
	event_id = new_event_id()
	now = convert_utc_to_system_timezone(moment).replace(tzinfo=None)
	user = frappe.session.user
	frappe.db.sql(
		"""insert into `tabHub Event`
			(name, creation, modified, owner, modified_by, subscription, event_type,
			reference_doctype, reference_name, occurred_at, payload)
		values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
		(event_id, now, now, user, user, subscription, type_, reference_doctype, reference_name, now, body),
	)
	delivery = frappe.db.sql(
		# `Hub Delivery` is named by autoincrement, which Frappe backs with this sequence.
		"""insert into `tabHub Delivery`
			(name, creation, modified, owner, modified_by, event, subscription, event_type,
			reference_doctype, reference_name, status, attempt_count, next_attempt_at)
		values (nextval(`hub_delivery_id_seq`), %s, %s, %s, %s, %s, %s, %s, %s, %s, 'Pending', 0, %s)
		returning name""",
		(now, now, user, user, event_id, subscription, type_, reference_doctype, reference_name, now),
	)[0][0]
	if deliver_after_commit:
		_deliver_after_commit(delivery)
	return delivery


def write_test_event(subscription: str) -> int:
	"""A `hub.test` event for the subscription, to be sent by the caller."""
	moment = datetime.now(timezone.utc)
	body = test_body(subscription, moment)
	return write_event(subscription, "hub.test", None, None, body, moment, deliver_after_commit=False)


def new_event_id() -> str:
	return "evt_" + frappe.generate_hash(length=24)


# --- after commit: one job for the transaction's deliveries -------------------------------------


def _deliver_after_commit(delivery: int) -> None:
	batch = getattr(frappe.local, _BATCH, None)
	if batch is None:
		batch = []
		setattr(frappe.local, _BATCH, batch)
		frappe.db.after_commit.add(_enqueue_batch)
		frappe.db.after_rollback.add(_forget_batch)
	batch.append(delivery)


def _forget_batch() -> None:
	setattr(frappe.local, _BATCH, None)


def _enqueue_batch() -> None:
	batch = getattr(frappe.local, _BATCH, None)
	_forget_batch()
	if not batch:
		return
	try:
		frappe.enqueue(DELIVER_JOB, queue="default", deliveries=batch)
	except (redis.exceptions.RedisError, OSError):
		# The transaction has committed: the deliveries are safe in the database and the sweep sends them
		# within a minute. Failing here would only turn the writer's successful request into an error.
		frappe.logger("integration_hub").warning(
			"Could not enqueue webhook deliveries %s; the sweep will send them", batch, exc_info=True
		)

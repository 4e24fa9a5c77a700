"""What an Integration Manager does by hand to deliveries and subscriptions: redeliver, recover, rotate
the signing secret, send a test event. The API and the Desk's buttons call these, each behind the
Integration Manager guard (security/roles.py)."""

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from integration_hub.events import delivery, outbox
from integration_hub.exceptions import BadRequest, Conflict, NotFound
from integration_hub.webhooks import signing

ROTATION_OVERLAP = timedelta(hours=24)
RECOVER_JOB = "integration_hub.events.jobs.recover"


def redeliver(name: object) -> dict:
	"""Send one delivery again now, whatever its state; the attempt is recorded as manual."""
	number = _delivery_number(name)
	with delivery.Sender() as sender:
		result = sender.deliver(number, manual=True)
	if result is None:
		raise Conflict(_("Delivery {0} is being sent right now; try again in a moment").format(number))
	return _result(result)


def recover(subscription: object, since: object) -> dict:
	"""Queue a background job that sends the subscription's failed and dead deliveries created since
	`since` again, each from a fresh retry schedule, in event order."""
	name = _subscription_name(subscription)
	start = _datetime(since, "since")
	state = frappe.db.get_value("Hub Subscription", name, ["enabled", "status"], as_dict=True)
	if not state.enabled or state.status != "Active":
		raise Conflict(_("Hub Subscription {0} is disabled; enable it before recovering").format(name))
	count = len(deliveries_to_recover(name, start))
	frappe.enqueue(
		RECOVER_JOB,
		queue="long",
		job_id=f"integration_hub:recover:{name}",
		deduplicate=True,
		enqueue_after_commit=True,
		subscription=name,
		since=str(start),
	)
	return {"subscription": name, "since": str(start), "deliveries": count, "status": "queued"}


def deliveries_to_recover(subscription: str, since) -> list[int]:
	return [
		row[0]
		for row in frappe.db.sql(
			"""select name from `tabHub Delivery`
			where subscription = %s and status in ('Failed', 'Dead') and creation >= %s
			order by name""",
			(subscription, get_datetime(since)),
		)
	]


def rotate_secret(subscription: object) -> dict:
	"""Replace the signing secret; the previous one stays valid (requests carry both signatures) for
	24 hours. The new secret is returned once, to be set on the receiver."""
	doc = frappe.get_doc("Hub Subscription", _subscription_name(subscription))
	doc.check_permission("write")
	secret = signing.generate_secret()
	doc.previous_secret = doc.get_password("secret", raise_exception=False)
	doc.previous_secret_expires_at = now_datetime() + ROTATION_OVERLAP
	doc.secret = secret
	doc.save()
	return {
		"subscription": doc.name,
		"secret": secret,
		"previous_secret_valid_until": str(doc.previous_secret_expires_at),
	}


def send_test_event(subscription: object) -> dict:
	"""Send a `hub.test` event to the subscription's endpoint now and report the outcome; a failed test
	delivery is retried like any other."""
	name = _subscription_name(subscription)
	number = outbox.write_test_event(name)
	with delivery.Sender() as sender:
		result = sender.deliver(number)
	if result is None:  # cannot happen: the row was inserted by this transaction
		raise Conflict(_("The test delivery could not be sent"))
	return _result(result)


def _result(result: delivery.Result) -> dict:
	event = frappe.db.get_value("Hub Delivery", result.delivery, "event")
	return {
		"delivery": result.delivery,
		"event": event,
		"status": result.status,
		"success": result.outcome.success,
		"status_code": result.outcome.status_code,
		"duration_ms": result.outcome.duration_ms,
		"response": result.outcome.response,
	}


def _delivery_number(name: object) -> int:
	try:
		number = int(str(name))
	except (TypeError, ValueError):
		raise BadRequest(_("delivery must be a delivery number"), [{"pointer": "/delivery"}])
	if not frappe.db.exists("Hub Delivery", number):
		raise NotFound(_("Hub Delivery {0} not found").format(number), [{"pointer": "/delivery"}])
	return number


def _subscription_name(name: object) -> str:
	if not isinstance(name, str) or not name or not frappe.db.exists("Hub Subscription", name):
		raise NotFound(
			_("Hub Subscription {0} not found").format(str(name)[:140]), [{"pointer": "/subscription"}]
		)
	return name


def _datetime(value: object, pointer: str):
	try:
		moment = get_datetime(value) if isinstance(value, str) and value.strip() else None
	except Exception:
		moment = None
	if moment is None:
		raise BadRequest(_("{0} must be a date and time").format(pointer), [{"pointer": f"/{pointer}"}])
	return moment

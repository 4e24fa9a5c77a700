"""Processing inbound events in the background, as the endpoint's Run As user.

A mapped endpoint writes each record through the upsert engine (`documents/upsert.py`), so Frappe's
permissions, the `unchanged` no-op and outbound events apply as to any API write. A handler endpoint
calls the app's registered handler. One attempt is one savepoint: a failure leaves no partial write.

A failure is retried after 1 min, 5 min, 30 min and 2 h (the scheduler's sweep enqueues due retries),
then the event is `Failed`. Failures no retry can fix (a permission, a record that does not map or
validate) fail at once. `reprocess` queues any event again from a fresh schedule.
"""

import json
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from integration_hub.documents.bulk import lock_batch_keys
from integration_hub.documents.exposure import BATCH_SIZE_LIMIT, OPERATIONS, PAGE_SIZE_LIMIT, Resource
from integration_hub.documents.upsert import upsert_record
from integration_hub.exceptions import Conflict, HubError, NotFound, ValidationFailed
from integration_hub.inbound import handlers
from integration_hub.inbound.receiving import ENDPOINT, EVENT
from integration_hub.sync.mapping import FieldMap, get_path

RETRY_DELAYS = (60, 5 * 60, 30 * 60, 2 * 3600)  # after the 1st, 2nd, 3rd and 4th failed attempt
LOST_JOB_AFTER = timedelta(minutes=10)
MAX_ERROR_LENGTH = 10_000
DEFAULT_RETENTION_DAYS = 30
SAVEPOINT = "integration_hub_inbound_event"
PROCESS_JOB = "integration_hub.inbound.processing.process_event"


def enqueue_processing(name: str) -> None:
	frappe.enqueue(
		PROCESS_JOB,
		queue="default",
		timeout=300,
		job_id=f"integration_hub:inbound:{name}",
		deduplicate=True,
		enqueue_after_commit=True,
		inbound_event=name,
	)


def process_event(inbound_event: str) -> None:
	"""Background job (an edge: it commits): one attempt at one queued event."""
	locked = frappe.db.sql(
		"select status, next_attempt_at from `tabHub Inbound Event` where name = %s for update",
		inbound_event,
		as_dict=True,
	)
	if not locked or locked[0].status != "Queued":
		return
	if locked[0].next_attempt_at and locked[0].next_attempt_at > now_datetime():
		return  # a retry that is not due yet; the sweep enqueues it when it is
	event = frappe.get_doc(EVENT, inbound_event)
	config = frappe.get_doc(ENDPOINT, event.endpoint)
	attempts = (event.attempts or 0) + 1
	caller = frappe.session.user
	frappe.db.savepoint(SAVEPOINT)
	try:
		check_run_as(config.run_as)
		frappe.set_user(config.run_as)
		result = apply(config, event)
	except Exception as e:
		frappe.db.rollback(save_point=SAVEPOINT)
		frappe.set_user(caller)
		record_failure(event, attempts, e)
	else:
		frappe.set_user(caller)
		record_success(event, attempts, result)
	frappe.local.message_log = []
	frappe.db.commit()


def check_run_as(user: str) -> None:
	if not user or not frappe.db.get_value("User", user, "enabled"):
		raise ValidationFailed(
			_("The endpoint's Run As user {0} does not exist or is disabled").format(user or "")
		)


def apply(config, event) -> str:
	payload = _payload(event.body)
	if config.action == "Call Handler":
		outcome = handlers.resolve(config.handler)(payload, event)
		return _("Handler {0} ran").format(config.handler) + (f": {outcome}" if outcome is not None else "")
	return map_records(config, payload)


def map_records(config, payload: object) -> str:
	records = get_path(payload, config.records_path) if config.records_path else payload
	if isinstance(records, dict):
		records = [records]
	if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
		raise ValidationFailed(
			_("The body has no record or list of records at {0}").format(
				config.records_path or _("its top level")
			)
		)
	if len(records) > BATCH_SIZE_LIMIT:
		raise ValidationFailed(_("An event may carry at most {0} records").format(BATCH_SIZE_LIMIT))
	fieldmap = FieldMap.from_rows(config.field_map)
	resource = endpoint_resource(config.document_type, fieldmap)
	local_records = [fieldmap.to_local(record) for record in records]
	lock_batch_keys(resource, local_records, resource.key_fields)
	lines = []
	for index, record in enumerate(local_records):
		result = upsert_record(resource, record, resource.key_fields, f"/records/{index}")
		lines.append(f"{result.status} {resource.doctype} {result.name}")
	return "\n".join(lines)


def endpoint_resource(doctype: str, fieldmap: FieldMap) -> Resource:
	"""The endpoint's view of its DocType: the fields of its map, every operation Run As's own
	permissions allow (as a sync job's, see sync/runner.job_resource)."""
	return Resource(
		doctype=doctype,
		operations=frozenset(OPERATIONS),
		key_fields=fieldmap.key_local_fields,
		allowlist=frozenset(fieldmap.local_fields),
		max_page_size=PAGE_SIZE_LIMIT,
		max_batch_size=BATCH_SIZE_LIMIT,
	)


def _payload(body: str) -> object:
	try:
		return json.loads(body or "")
	except ValueError:
		return body


def record_success(event, attempts: int, result: str) -> None:
	frappe.db.set_value(
		EVENT,
		event.name,
		{
			"status": "Processed",
			"attempts": attempts,
			"processed_at": now_datetime(),
			"next_attempt_at": None,
			"result": (result or "")[:MAX_ERROR_LENGTH],
			"error": None,
		},
		update_modified=False,
	)


def record_failure(event, attempts: int, exc: Exception) -> None:
	permanent = is_permanent(exc)
	retry_in = None if permanent or attempts > len(RETRY_DELAYS) else RETRY_DELAYS[attempts - 1]
	frappe.db.set_value(
		EVENT,
		event.name,
		{
			"status": "Failed" if retry_in is None else "Queued",
			"attempts": attempts,
			"next_attempt_at": None if retry_in is None else add_to_date(now_datetime(), seconds=retry_in),
			"error": describe_error(exc, attempts, retry_in),
		},
		update_modified=False,
	)


def is_permanent(exc: Exception) -> bool:
	"""A refused permission or a record that does not map or validate fails the same way every time;
	anything else (a handler's exception, a deadlock, a timeout) may pass on a later attempt."""
	if isinstance(exc, HubError):
		return exc.http_status_code < 500 and not isinstance(exc, Conflict) and exc.http_status_code != 429
	return isinstance(exc, frappe.PermissionError)


def describe_error(exc: Exception, attempts: int, retry_in: int | None) -> str:
	if isinstance(exc, HubError):
		text = f"{type(exc).__name__}: {exc.detail}"
		if exc.errors:
			text += "\n" + json.dumps(exc.errors, indent=1, default=str)
	else:
		text = frappe.get_traceback(with_context=False) or f"{type(exc).__name__}: {exc}"
	when = _("retrying in {0} seconds").format(retry_in) if retry_in is not None else _("no retry left")
	return (_("Attempt {0} failed, {1}").format(attempts, when) + "\n" + text)[:MAX_ERROR_LENGTH]


def sweep() -> None:
	"""Scheduled every minute: enqueue the retries that are due and events whose job was lost."""
	now = now_datetime()
	names = frappe.db.sql(
		"""select name from `tabHub Inbound Event`
		where status = 'Queued'
			and (next_attempt_at <= %(now)s or (next_attempt_at is null and received_at <= %(lost)s))
		order by received_at limit 1000""",
		{"now": now, "lost": now - LOST_JOB_AFTER},
		pluck=True,
	)
	for name in names:
		enqueue_processing(name)


def reprocess(name: object) -> dict:
	"""Queue an event again from a fresh retry schedule, whatever its state (Integration Manager)."""
	from integration_hub.events.operations import require_integration_manager

	require_integration_manager()
	if not isinstance(name, str) or not name or not frappe.db.exists(EVENT, name):
		raise NotFound(_("No Hub Inbound Event {0}").format(str(name or "")[:140]))
	if not frappe.has_permission(EVENT, "read", doc=name):
		raise NotFound(_("No Hub Inbound Event {0}").format(name))
	frappe.db.set_value(
		EVENT,
		name,
		{"status": "Queued", "attempts": 0, "next_attempt_at": None, "error": None, "result": None},
		update_modified=False,
	)
	enqueue_processing(name)
	return {"event": name, "status": "Queued"}


def validate_endpoint(doc) -> None:
	"""Hub Inbound Endpoint.validate: a configuration that can work."""
	from integration_hub.events.signing import secret_key
	from integration_hub.inbound.receiving import ENDPOINT_NAME
	from integration_hub.inbound.verification import SHARED_SECRET, STANDARD_WEBHOOKS
	from integration_hub.validation import check_field_map

	if not ENDPOINT_NAME.match(doc.endpoint or ""):
		frappe.throw(_("The endpoint name may hold only letters, digits, - and _ (at most 140)"))
	if doc.verification == SHARED_SECRET and not (doc.secret_header or "").strip():
		frappe.throw(_("Name the header that carries the shared secret"))
	secret = doc.secret or ""
	if doc.verification == STANDARD_WEBHOOKS and secret.strip("*"):  # asterisks: the stored one, unchanged
		try:
			secret_key(secret)
		except ValueError as e:
			frappe.throw(_("Standard Webhooks needs a whsec_ secret: {0}").format(e))
	if doc.action == "Call Handler":
		if (doc.handler or "") not in handlers.registered_handlers():
			frappe.throw(
				_("No inbound handler {0} is registered under {1}").format(doc.handler or "", handlers.HOOK)
			)
		return
	if not doc.document_type:
		frappe.throw(_("Choose the Document Type that events are mapped into"))
	check_field_map(doc.field_map, doc.document_type)


def clear_old_events(days: int = DEFAULT_RETENTION_DAYS) -> None:
	frappe.db.delete(
		EVENT,
		{"received_at": ("<", add_to_date(now_datetime(), days=-int(days))), "status": ("!=", "Queued")},
	)

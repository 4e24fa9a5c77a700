"""Processing inbound events in the background, as the endpoint's Run As user.

A mapped endpoint writes each record through the upsert engine (`documents/write.py`), so Frappe's
permissions, the `unchanged` no-op and outbound events apply as to any API write. A handler endpoint
calls the app's registered handler. One attempt is one savepoint: a failure leaves no partial write.
What it writes carries the request id `inbound-event:<name>` (request_id.py), so the Hub Changes and
outbound Hub Events it caused lead back to the event.

A failure is retried after 1 min, 5 min, 30 min and 2 h (the scheduler's sweep, in jobs.py, enqueues due retries),
then the event is `Failed`. Failures no retry can fix (a permission, a record that does not map or
validate) fail at once. `reprocess` queues any event again from a fresh schedule.
"""

import json

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from integration_hub.documents.bulk import lock_batch_keys, writing_batch
from integration_hub.documents.exposure import BATCH_SIZE_LIMIT
from integration_hub.documents.write import upsert_record
from integration_hub.exceptions import Conflict, HubError, NotFound, ValidationFailed
from integration_hub.inbound import ENDPOINT, EVENT, handlers
from integration_hub.inbound.jobs import enqueue_processing
from integration_hub.locks import rollback_to_savepoint
from integration_hub.mapping.field_maps import FieldMap, get_path, mapped_resource
from integration_hub.methods.calling import call_method
from integration_hub.request_id import carried
from integration_hub.security.run_as import running_as

RETRY_DELAYS = (60, 5 * 60, 30 * 60, 2 * 3600)  # after the 1st, 2nd, 3rd and 4th failed attempt
MAX_ERROR_LENGTH = 10_000
DEFAULT_RETENTION_DAYS = 30
SAVEPOINT = "integration_hub_inbound_event"


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
	frappe.db.savepoint(SAVEPOINT)
	try:
		with (
			running_as(config.run_as, _("inbound endpoint {0}").format(config.name)),
			carried(f"inbound-event:{event.name}"),  # on every change and event the processing causes
		):
			result = apply(config, event)
	except Exception as e:
		rollback_to_savepoint(SAVEPOINT)  # a deadlock's victim is retried as any failed attempt
		record_failure(event, attempts, e)
	else:
		record_success(event, attempts, result)
	frappe.local.message_log = []
	frappe.db.commit()


def apply(config, event) -> str:
	payload = _payload(event.body)
	if config.action == "Call Handler":
		outcome = handlers.resolve(config.handler)(payload, event)
		return _("Handler {0} ran").format(config.handler) + (f": {outcome}" if outcome is not None else "")
	if config.action == "Call Method":
		return call_mapped_method(config, payload)
	return map_records(config, payload)


DATA_PREFIX = "data."


def call_mapped_method(config, payload: object) -> str:
	"""Call the endpoint's Hub Method with arguments mapped from the event (the record at the records
	path); `data.<field>` values go onto the document it returns, which is saved and submitted when
	the endpoint says so."""
	record = get_path(payload, config.records_path) if config.records_path else payload
	if not isinstance(record, dict):
		raise ValidationFailed(
			_("The body has no object at {0}").format(config.records_path or _("its top level"))
		)
	values = FieldMap.from_rows(config.field_map).to_local(record)
	args = {name: value for name, value in values.items() if not name.startswith(DATA_PREFIX)}
	data = {name[len(DATA_PREFIX) :]: v for name, v in values.items() if name.startswith(DATA_PREFIX)}
	submit = bool(config.submit_returned)
	answer = call_method(config.method, args, save=submit, submit=submit, data=data or None)
	result = answer["result"]
	if submit:
		return _("Method {0}: {1} {2}").format(config.method, result["status"], result["name"])
	return _("Method {0} answered: {1}").format(config.method, frappe.as_json(result, indent=None)[:1000])


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
	resource = mapped_resource(config.document_type, fieldmap)
	local_records = [fieldmap.to_local(record) for record in records]
	lock_batch_keys(resource, local_records, resource.key_fields)
	lines = []
	# As a bulk call writes its records (documents/bulk.py): the hub's own rows once at the end. The
	# attempt is one savepoint: a failure leaves none of them.
	with writing_batch():
		for index, record in enumerate(local_records):
			result = upsert_record(resource, record, resource.key_fields, f"/records/{index}")
			lines.append(f"{result.status} {resource.doctype} {result.name}")
	return "\n".join(lines)


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


def reprocess(name: object) -> dict:
	"""Queue an event again from a fresh retry schedule, whatever its state."""
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


def clear_old_events(days: int = DEFAULT_RETENTION_DAYS) -> None:
	frappe.db.delete(
		EVENT,
		{"received_at": ("<", add_to_date(now_datetime(), days=-int(days))), "status": ("!=", "Queued")},
	)

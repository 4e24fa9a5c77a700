"""The public, versioned API of integration_hub.

Every endpoint lives here and only here, under `/api/method/integration_hub.api.v1.<name>`.
Each one is thin: check who is calling, parse the arguments, call a service module, shape the answer.
Errors are `application/problem+json` (see `api/errors.py`); writes honour `Idempotency-Key`.
"""

from werkzeug.wrappers import Response

import frappe
from frappe import _

import integration_hub
from integration_hub.api.endpoint import (
	endpoint,
	json_argument,
	json_response,
	request_header,
	versioned_response,
)
from integration_hub.documents import changes as change_feed
from integration_hub.documents import conditional, expansion, lifecycle, query, versions
from integration_hub.documents import describe as describer
from integration_hub.documents import openapi as openapi_builder
from integration_hub.documents import write as writer
from integration_hub.documents.bulk import bulk_upsert as bulk_upsert_records
from integration_hub.documents.creation import create_record
from integration_hub.documents.exposure import authorize, get_resource
from integration_hub.documents.fields import field_policy
from integration_hub.documents.sequencer import position_committed_changes
from integration_hub.events import controls as webhook_controls
from integration_hub.exceptions import BadRequest
from integration_hub.inbound import processing as inbound_processing
from integration_hub.inbound import receiving as inbound_receiving
from integration_hub.inbound.verification import InvalidSignature
from integration_hub.methods import calling as method_calls
from integration_hub.operations import doctor as operator_doctor
from integration_hub.reports import running as report_runs
from integration_hub.security.roles import integration_manager_only
from integration_hub.sync import controls as sync_controls

JSONValue = str | dict | list | None


@frappe.whitelist(methods=["GET"])
def ping() -> dict:
	"""Tell an authenticated caller that the hub answers, which versions run, and who they are."""
	return {
		"app": "integration_hub",
		"version": integration_hub.__version__,
		"frappe_version": frappe.__version__,
		"user": frappe.session.user,
	}


@frappe.whitelist(methods=["GET"])
@endpoint()
def describe(doctype: str) -> dict:
	"""Key fields, the operations this caller may perform, and the fields it may read and write."""
	return describer.describe_resource(get_resource(doctype))


@frappe.whitelist(methods=["GET"])
@endpoint()
def get_document(
	doctype: str, name: str | None = None, key: JSONValue = None, expand: JSONValue = None
) -> Response:
	"""One document, with its version as ETag; `If-None-Match` with that version answers 304."""
	resource = get_resource(doctype)
	read = conditional.read_document(
		resource,
		name,
		json_argument(key, "key", types=(dict,)),
		json_argument(expand, "expand", types=(list, str)),
		request_header("If-None-Match"),
	)
	return versioned_response(read.doc, read.etag)


@frappe.whitelist(methods=["GET"])
@endpoint()
def list_documents(
	doctype: str,
	fields: JSONValue = None,
	filters: JSONValue = None,
	order_by: str | None = None,
	limit: int | str | None = None,
	cursor: str | None = None,
	expand: JSONValue = None,
) -> dict:
	resource = get_resource(doctype)
	authorize(resource, "read")
	policy = field_policy(resource)
	tree = expansion.parse_expand(json_argument(expand, "expand", types=(list, str)), policy, tables=False)
	selected = query.parse_fields(json_argument(fields, "fields", types=(list, str)), policy)
	page = query.list_page(
		resource,
		policy,
		fields=list(dict.fromkeys([*selected, *expansion.root_fields(tree)])),
		filters=query.parse_filters(json_argument(filters, "filters", types=(dict, list)), policy),
		order=query.parse_order(order_by),
		limit=query.parse_limit(limit, resource.max_page_size),
		cursor=cursor or None,
	)
	expansion.expand_documents(page.rows, tree)
	return {"data": page.rows, "next_cursor": page.next_cursor, "has_more": page.has_more}


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def upsert(doctype: str, data: JSONValue = None, key: JSONValue = None, submit: bool = False) -> dict:
	"""`If-Match` (or `data._version`): the version the document is expected at; stale is 412.
	`submit`: submit the document in the same transaction (both, or neither)."""
	resource = get_resource(doctype)
	key_fields = writer.parse_key(json_argument(key, "key", types=(list,)), resource)
	record = json_argument(data, "data", types=(dict,))
	result = writer.upsert_record(resource, record, key_fields, if_match=request_header("If-Match"))
	return (lifecycle.submit_written(resource, result) if submit else result).as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def create_document(doctype: str, data: JSONValue = None, submit: bool = False) -> dict:
	"""A new document, named by its DocType's rule (naming series, hash, autoincrement...); submitted
	in the same transaction with `submit`."""
	resource = get_resource(doctype)
	return create_record(resource, json_argument(data, "data", types=(dict,)), submit=submit).as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def bulk_upsert(
	doctype: str,
	records: JSONValue = None,
	key: JSONValue = None,
	atomic: bool = False,
	mode: str = "upsert",
	submit: bool = False,
) -> dict:
	"""`mode="create"`: every record is a new document, as create_document makes it. `submit`: each
	record's document is submitted with its write (a record that fails writes nothing)."""
	resource = get_resource(doctype)
	key_fields = writer.parse_key(json_argument(key, "key", types=(list,)), resource)
	results = bulk_upsert_records(
		resource, json_argument(records, "records", types=(list,)), key_fields, atomic, mode, submit
	)
	return {"results": results}


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def submit_document(
	doctype: str, name: str | None = None, key: JSONValue = None, if_match: str | None = None
) -> dict:
	"""Submit a draft (`{"doctype", "name"}` or `{"doctype", "key"}`); `If-Match` as for delete."""
	resource = get_resource(doctype)
	expected = versions.expected_once(request_header("If-Match"), if_match, "/if_match")
	key_values = json_argument(key, "key", types=(dict,))
	return lifecycle.submit_record(resource, name, key_values, expected).as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def cancel_document(
	doctype: str, name: str | None = None, key: JSONValue = None, if_match: str | None = None
) -> dict:
	"""Cancel a submitted document."""
	resource = get_resource(doctype)
	expected = versions.expected_once(request_header("If-Match"), if_match, "/if_match")
	key_values = json_argument(key, "key", types=(dict,))
	return lifecycle.cancel_record(resource, name, key_values, expected).as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def amend_document(
	doctype: str,
	name: str | None = None,
	key: JSONValue = None,
	data: JSONValue = None,
	submit: bool = False,
	if_match: str | None = None,
) -> dict:
	"""The amendment of a cancelled document (a new draft, named by Frappe's rule: `SINV-0001-1`), with
	the changes in `data`; submitted too with `submit`."""
	resource = get_resource(doctype)
	expected = versions.expected_once(request_header("If-Match"), if_match, "/if_match")
	amended = lifecycle.amend_record(
		resource,
		name,
		json_argument(key, "key", types=(dict,)),
		json_argument(data, "data", types=(dict,)),
		expected,
		submit_it=submit,
	)
	return amended.as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def call_method(
	method: str, args: JSONValue = None, save: bool = False, submit: bool = False, data: JSONValue = None
) -> dict:
	"""Call a curated method (a Hub Method) as the caller, with `args`. For a method that returns a new
	document (ERPNext's `make_delivery_note`): `save` saves it with the changes in `data`, `submit`
	submits it too, in the same transaction."""
	return method_calls.call_method(
		method,
		json_argument(args, "args", types=(dict,)),
		save=save,
		submit=submit,
		data=json_argument(data, "data", types=(dict,)),
	)


@frappe.whitelist(methods=["GET", "POST"])
@endpoint()
def run_report(
	report: str,
	filters: JSONValue = None,
	limit: int | str | None = None,
	cursor: str | None = None,
	format: str | None = None,
) -> dict | Response:
	"""Run a curated report (a Hub Report) as the caller: typed columns and rows as objects, paged
	(`next_cursor`); `format=csv` answers the page as CSV, with the next cursor in `X-Next-Cursor`."""
	if format not in (None, "", "json", "csv"):
		raise BadRequest(_("format must be json or csv"), [{"pointer": "/format"}])
	page = report_runs.run_report(report, json_argument(filters, "filters", types=(dict,)), limit, cursor)
	if format == "csv":
		response = Response(page.as_csv(), mimetype="text/csv")
		response.headers["Content-Disposition"] = f'attachment; filename="{page.report}.csv"'
		if page.next_cursor:
			response.headers["X-Next-Cursor"] = page.next_cursor
		return response
	return page.as_dict()


@frappe.whitelist(methods=["POST"])
@endpoint(idempotent=True)
def delete_document(
	doctype: str, name: str | None = None, key: JSONValue = None, if_match: str | None = None
) -> dict:
	"""`If-Match` (or `if_match`): the version the document is expected at; stale is 412."""
	resource = get_resource(doctype)
	expected = versions.expected_once(request_header("If-Match"), if_match, "/if_match")
	deleted = writer.delete_record(resource, name, json_argument(key, "key", types=(dict,)), expected)
	return {"name": deleted, "status": "deleted"}


@frappe.whitelist(methods=["GET"])
@endpoint()
def changes(
	doctype: str, cursor: str | None = None, limit: int | str | None = None, expand: JSONValue = None
) -> dict:
	resource = get_resource(doctype)
	authorize(resource, "changes")
	tree = expansion.parse_expand(json_argument(expand, "expand", types=(list, str)), field_policy(resource))
	position_committed_changes(max_batches=1)  # commits its own short transactions, before any read
	page = change_feed.read_changes(
		resource, cursor or None, query.parse_limit(limit, min(resource.max_page_size, 1000), default=100)
	)
	expansion.expand_documents([change["doc"] for change in page.changes if "doc" in change], tree)
	return {"changes": page.changes, "next_cursor": page.next_cursor, "has_more": page.has_more}


@frappe.whitelist(methods=["GET"])
@endpoint()
def openapi() -> dict:
	"""An OpenAPI 3.1 document of this API, with a schema for each resource the caller may read."""
	return openapi_builder.build_document()


# --- scheduled sync, by hand (Integration Managers) ---------------------------------------------


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def run_now(job: str) -> dict:
	"""Queue a run of a Hub Sync Job now (on the long queue); a run already queued or running is not
	doubled."""
	return sync_controls.run_now(sync_controls.managed_job(job))


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def reset_cursor(job: str) -> dict:
	"""Forget a Hub Sync Job's cursor, so that its next run copies everything again (a full resync)."""
	return sync_controls.reset_cursor(sync_controls.managed_job(job))


# --- outbound webhooks, by hand (Integration Managers) ---------------------------------------


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def redeliver(delivery: str | int) -> dict:
	"""Send one Hub Delivery again now, whatever its state; answers with the attempt's outcome."""
	return webhook_controls.redeliver(delivery)


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def recover(subscription: str, since: str) -> dict:
	"""Re-send a subscription's failed and dead deliveries created since `since`, in event order, in the
	background."""
	return webhook_controls.recover(subscription, since)


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def rotate_secret(subscription: str) -> dict:
	"""A new signing secret (returned once); the previous one keeps signing for 24 hours."""
	return webhook_controls.rotate_secret(subscription)


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def send_test_event(subscription: str) -> dict:
	"""Send a signed `hub.test` event to the subscription's endpoint now; answers with the outcome."""
	return webhook_controls.send_test_event(subscription)


# --- inbound webhooks ------------------------------------------------------------------------------


def _count_rejected_signature(error: Exception) -> None:
	if isinstance(error, InvalidSignature):
		inbound_receiving.record_rejection(frappe.request.args.get("endpoint"))


@frappe.whitelist(allow_guest=True, methods=["POST"])
@endpoint(after_failure=_count_rejected_signature)
def receive() -> Response:
	"""Receive a webhook for the Hub Inbound Endpoint named in the query string (`?endpoint=NAME`).
	The signature is the authentication; the event is stored once and processed in the background:
	202 when queued, 200 for a redelivery of an event already received."""
	receipt = inbound_receiving.receive(frappe.request.args.get("endpoint"), frappe.request)
	return json_response({"message": receipt.as_dict()}, status=receipt.status)


@frappe.whitelist(methods=["POST"])
@endpoint()
@integration_manager_only
def reprocess(event: str) -> dict:
	"""Queue a Hub Inbound Event for processing again, from a fresh retry schedule (Integration Manager)."""
	return inbound_processing.reprocess(event)


# --- the operator's view -------------------------------------------------------------------------


@frappe.whitelist(methods=["GET"])
@endpoint()
@integration_manager_only
def health() -> dict:
	"""For an external monitor (Integration Manager): the facts of `bench --site SITE hub status`
	(subscriptions, sync jobs, deliveries, scheduler, workers, Redis) and what `hub doctor` finds;
	`ok` is false when it finds a problem."""
	return operator_doctor.health()

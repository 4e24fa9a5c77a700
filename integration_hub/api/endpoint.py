"""The edge every `api.v1` endpoint goes through: errors become problem+json, writes honour
`Idempotency-Key`, and a failed call leaves nothing behind.

The request is the transaction's owner here, so this is the one place of the API that commits or
rolls back: Frappe commits a call that returns, this rolls back one that fails. The one exception is
the change feed's sequencer, which `changes` runs first and which commits its own short transactions
(documents/sequencer.py).
"""

import functools
import inspect
import random
import time
from collections.abc import Callable

from werkzeug.wrappers import Response

import frappe
from frappe import _

from integration_hub import json_text
from integration_hub.api.errors import response_for_exception, response_json
from integration_hub.documents import idempotency
from integration_hub.documents.versions import etag
from integration_hub.exceptions import BadRequest
from integration_hub.security.limits import shape_problem

REPLAY_HEADER = "Idempotent-Replayed"
# A transaction InnoDB picks as a deadlock's victim is rolled back whole; running the call again is
# what the client would do, so the hub does it (ERPNext's submits lock Bins and ledgers in the order
# of each document's rows, so concurrent submits over the same items deadlock now and then).
DEADLOCK_RETRIES = 4
DEADLOCK_BACKOFF_SECONDS = 0.05


def endpoint(*, idempotent: bool = False, after_failure: Callable[[Exception], None] | None = None):
	"""Wrap an endpoint (under `@frappe.whitelist`; `functools.wraps` keeps its type validation).
	`after_failure(error)` runs once a failed call is rolled back, and what it writes is committed: the
	one trace a refused request may leave (an inbound endpoint's count of bad signatures)."""

	def decorate(fn):
		signature = inspect.signature(fn)

		@functools.wraps(fn)
		def wrapper(*args, **kwargs):
			try:
				signature.bind(*args, **kwargs)
			except TypeError as e:
				return response_for_exception(BadRequest(_("Missing or unexpected argument: {0}").format(e)))
			key = request_header("Idempotency-Key") if idempotent else None
			if key is not None:
				return _run_idempotently(fn, key, args, kwargs)
			try:
				result = call_retrying_deadlocks(fn, args, kwargs)
			except Exception as e:
				frappe.db.rollback()
				if after_failure is not None:
					after_failure(e)
					frappe.db.commit()
				return response_for_exception(e)
			_forget_messages()
			return result

		return wrapper

	return decorate


def call_retrying_deadlocks(fn: Callable, args: tuple, kwargs: dict):
	"""`fn(*args, **kwargs)`, run again (after a short random pause) when InnoDB picked its
	transaction as a deadlock's victim, up to DEADLOCK_RETRIES times."""
	for attempt in range(DEADLOCK_RETRIES + 1):
		try:
			return fn(*args, **kwargs)
		except frappe.QueryDeadlockError:
			if attempt == DEADLOCK_RETRIES:
				raise
			frappe.db.rollback()
			frappe.local.message_log = []
			time.sleep(random.uniform(1, 2) * DEADLOCK_BACKOFF_SECONDS * (attempt + 1))


def request_header(name: str) -> str | None:
	request = getattr(frappe.local, "request", None)  # none when called in-process, outside a request
	return request.headers.get(name) if request is not None else None


def _run_idempotently(fn, key: str, args: tuple, kwargs: dict) -> Response:
	# A precondition is part of the request: the same key with another If-Match is another request.
	preconditions = {"If-Match": if_match} if (if_match := request_header("If-Match")) else {}
	fingerprint = idempotency.request_fingerprint(fn.__name__, {**kwargs, **preconditions})
	try:
		claim = idempotency.claim(key, fingerprint, frappe.session.user)
	except Exception as e:
		frappe.db.rollback()
		return response_for_exception(e)
	if claim.replay:
		frappe.db.rollback()
		return _stored_response(claim.replay.status, claim.replay.body, replayed=True)
	frappe.db.commit()  # the claim must be visible to a concurrent retry while this one runs

	try:
		response = json_response({"message": call_retrying_deadlocks(fn, args, kwargs)})
	except Exception as e:
		frappe.db.rollback()
		response = response_for_exception(e)
		if response.status_code in (409, 429) or response.status_code >= 500:
			# A retry may succeed: do not pin this answer to the key.
			idempotency.release(claim.record)
			return response
	_forget_messages()
	idempotency.complete(claim.record, response.status_code, response.get_data(as_text=True))
	return response  # Frappe commits the operation and its stored answer together


def json_response(data: object, status: int = 200) -> Response:
	return Response(response_json(data), status=status, mimetype="application/json")


def versioned_response(doc: dict | None, version: str) -> Response:
	"""A document with its version as a strong ETag; None: 304 Not Modified, with no body."""
	if doc is None:
		response = Response(status=304)
	else:
		response = json_response({"message": doc})
	response.headers["ETag"] = etag(version)
	return response


def _stored_response(status: int, body: str, replayed: bool) -> Response:
	mimetype = "application/problem+json" if status >= 400 else "application/json"
	response = Response(body, status=status, mimetype=mimetype)
	if replayed:
		response.headers[REPLAY_HEADER] = "true"
	return response


def _forget_messages() -> None:
	# Messages of records that failed inside a bulk call are reported in its results, not as toasts.
	frappe.local.message_log = []


def json_argument(value: object, name: str, *, types: tuple[type, ...]) -> object:
	"""A JSON-valued argument, given as JSON or as a JSON string (query parameters are strings)."""
	if isinstance(value, str) and types != (str,):
		stripped = value.strip()
		if stripped[:1] in ("{", "[") or stripped in ("null", "true", "false"):
			value = json_text.loads(stripped, name, f"/{name}")
	if value is not None and not isinstance(value, types):
		expected = " or ".join(_json_type_name(t) for t in types)
		raise BadRequest(_("{0} must be {1}").format(name, expected), [{"pointer": f"/{name}"}])
	problem = shape_problem(
		value
	)  # given as JSON already (in-process callers; the request's own was checked)
	if problem:
		raise BadRequest(_("{0}: {1}").format(name, problem), [{"pointer": f"/{name}", "detail": problem}])
	return value


def _json_type_name(t: type) -> str:
	return {dict: "an object", list: "a list", str: "a string", int: "a number", bool: "a boolean"}.get(
		t, t.__name__
	)

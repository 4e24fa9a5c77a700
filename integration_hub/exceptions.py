"""The hub's domain exceptions.

Each carries an HTTP status and a stable UPPER_SNAKE `code`; `api/errors.py` turns them, and Frappe's
own exceptions, into `application/problem+json` answers. `errors` holds `{"pointer", "detail"}` items:
JSON pointers into the request that say exactly which part was wrong.
"""

from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import strip_html_tags

from integration_hub.request_id import current as current_request_id


class HubError(frappe.ValidationError):
	http_status_code = 400
	code = "BAD_REQUEST"
	title = "Bad request"

	def __init__(self, detail: str = "", errors: list[dict] | None = None) -> None:
		super().__init__(detail)
		self.detail = detail
		self.errors = errors or []
		self.extensions: dict = {}  # problem members of this kind of error (RFC 9457 extensions)


class BadRequest(HubError):
	pass


class InvalidCursor(HubError):
	code = "INVALID_CURSOR"
	title = "Invalid cursor"


class ResourceNotExposed(HubError):
	http_status_code = 404
	code = "RESOURCE_NOT_EXPOSED"
	title = "Resource not exposed"


class MethodNotExposed(HubError):
	http_status_code = 404
	code = "METHOD_NOT_EXPOSED"
	title = "Method not exposed"


class ReportNotExposed(HubError):
	http_status_code = 404
	code = "REPORT_NOT_EXPOSED"
	title = "Report not exposed"


class NotFound(HubError):
	http_status_code = 404
	code = "NOT_FOUND"
	title = "Not found"


class OperationNotPermitted(HubError):
	http_status_code = 403
	code = "PERMISSION_DENIED"
	title = "Permission denied"


class InsufficientScope(HubError):
	"""An OAuth token lacks the scope a request needs: 403 with `error="insufficient_scope"`."""

	http_status_code = 403
	code = "INSUFFICIENT_SCOPE"
	title = "Insufficient scope"

	def __init__(self, detail: str, scope: str) -> None:
		super().__init__(detail)
		self.extensions["required_scope"] = scope


class ValidationFailed(HubError):
	http_status_code = 422
	code = "VALIDATION_FAILED"
	title = "Validation failed"


class MappingError(ValidationFailed):
	"""A record that a field map cannot turn into the other side's values."""

	code = "MAPPING_FAILED"
	title = "Mapping failed"


class IdempotencyKeyReused(HubError):
	http_status_code = 422
	code = "IDEMPOTENCY_KEY_REUSED"
	title = "Idempotency key reused"


class Conflict(HubError):
	http_status_code = 409
	code = "CONFLICT"
	title = "Conflict"


class PreconditionFailed(HubError):
	"""The caller's expected version (If-Match, `_version`) is not the document's current one."""

	http_status_code = 412
	code = "PRECONDITION_FAILED"
	title = "Precondition failed"

	def __init__(
		self, detail: str, errors: list[dict], current_version: str | None, current: dict | None = None
	) -> None:
		super().__init__(detail, errors)
		self.extensions = {"current_version": current_version}
		if current is not None:
			self.extensions["current"] = current


class PayloadTooLarge(HubError):
	http_status_code = 413
	code = "PAYLOAD_TOO_LARGE"
	title = "Payload too large"


class RateLimited(HubError):
	http_status_code = 429
	code = "RATE_LIMITED"
	title = "Too many requests"

	def __init__(self, detail: str = "", retry_after: int = 1) -> None:
		super().__init__(detail)
		self.retry_after = retry_after


# --- configuration errors: a Desk form that could not work, refused on save ----------------------
# Frappe shows each one's message, as any ValidationError's; code and tests tell them apart by class.


class InvalidConfiguration(frappe.ValidationError):
	"""A hub configuration document that could not work."""


class InvalidFieldList(InvalidConfiguration):
	"""A table of fields (exposed fields, payload fields) naming a field that is not there, or twice."""


class InvalidFieldMap(InvalidConfiguration):
	"""A field map that could not map a record: unknown fields, a missing key, a bad lookup."""


class InvalidSchedule(InvalidConfiguration):
	"""A cron expression or a retry schedule that cannot be read."""


class InvalidLimit(InvalidConfiguration):
	"""A number outside its range: batch and page sizes, timeouts."""


class InvalidSecret(InvalidConfiguration):
	"""A signing secret that is not one the scheme can use."""


class InvalidCondition(InvalidConfiguration):
	"""A subscription's condition that is not a valid safe expression."""


class InvalidBaseURL(InvalidConfiguration):
	"""A connection's base URL that is not an http(s) address of a host."""


class NotExposable(InvalidConfiguration):
	"""A DocType that the API cannot expose (the hub's own, a child table, a single)."""


class NotSubscribable(InvalidConfiguration):
	"""A DocType that outbound events cannot be sent for."""


class InvalidSyncSetting(InvalidConfiguration):
	"""A sync job's direction, source or deletion settings that cannot work together."""


class InvalidInboundEndpoint(InvalidConfiguration):
	"""An inbound endpoint's name, verification or action that cannot work."""


class NotCallable(InvalidConfiguration):
	"""A Hub Method whose path the hub will not call (not whitelisted, open to guests, or a way around
	the curated API)."""


class NotRunnable(InvalidConfiguration):
	"""A Hub Report whose report the hub will not run (not a Query or Script Report, or disabled)."""


class DuplicateScope(InvalidConfiguration):
	"""An API key with two scope rows for one resource."""


class ConditionFailed(frappe.ValidationError):
	"""A subscription's condition raised on a document being written: the write is refused, as
	Frappe's own webhooks refuse it, so that no change goes unannounced."""


# --- the error model: any exception as (status, code, title, detail, errors) -------------------

# Frappe's exceptions, by class name, most specific first where they inherit from one another.
FRAMEWORK_ERRORS: dict[str, tuple[int, str, str]] = {
	"AuthenticationError": (401, "NOT_AUTHENTICATED", "Not authenticated"),
	"SessionExpired": (401, "NOT_AUTHENTICATED", "Not authenticated"),
	"InvalidAuthorizationToken": (401, "NOT_AUTHENTICATED", "Not authenticated"),
	"PermissionError": (403, "PERMISSION_DENIED", "Permission denied"),
	"DoesNotExistError": (404, "NOT_FOUND", "Not found"),
	"PageDoesNotExistError": (404, "NOT_FOUND", "Not found"),
	"FrappeTypeError": (400, "BAD_REQUEST", "Bad request"),
	"JSONDecodeError": (400, "BAD_REQUEST", "Bad request"),
	"CSRFTokenError": (400, "BAD_REQUEST", "Bad request"),
	"DuplicateEntryError": (409, "CONFLICT", "Conflict"),
	"UniqueValidationError": (409, "CONFLICT", "Conflict"),
	"NameError": (409, "CONFLICT", "Conflict"),
	"LinkExistsError": (409, "CONFLICT", "Conflict"),
	"TimestampMismatchError": (409, "CONFLICT", "Conflict"),
	"UpdateAfterSubmitError": (409, "CONFLICT", "Conflict"),
	"DocstatusTransitionError": (409, "CONFLICT", "Conflict"),
	"QueryDeadlockError": (409, "CONFLICT", "Conflict"),
	"QueryTimeoutError": (409, "CONFLICT", "Conflict"),
	"TooManyRequestsError": (429, "RATE_LIMITED", "Too many requests"),
	"RateLimitExceededError": (429, "RATE_LIMITED", "Too many requests"),
	"ValidationError": (422, "VALIDATION_FAILED", "Validation failed"),
}
INTERNAL_ERROR = (500, "INTERNAL_ERROR", "Internal error")


@dataclass
class Problem:
	status: int
	code: str
	title: str
	detail: str
	errors: list[dict] = field(default_factory=list)
	exc_type: str = ""
	extensions: dict = field(default_factory=dict)

	def as_dict(self) -> dict:
		problem = {
			"type": f"https://integration-hub.invalid/problems/{self.code.lower().replace('_', '-')}",
			"title": self.title,
			"status": self.status,
			"detail": self.detail,
			"code": self.code,
			"errors": self.errors,
			"exc_type": self.exc_type,
			**self.extensions,
		}
		if request_id := current_request_id():
			problem["request_id"] = request_id
		return problem


def problem_from_exception(exc: BaseException) -> Problem:
	if isinstance(exc, HubError):
		return Problem(
			exc.http_status_code,
			exc.code,
			exc.title,
			_text(exc.detail),
			exc.errors,
			type(exc).__name__,
			exc.extensions,
		)
	status, code, title = classify(type(exc))
	guest_refused = status == 403 and frappe.session.user == "Guest"
	if status == 401 or guest_refused:
		status, code, title = 401, "NOT_AUTHENTICATED", "Not authenticated"
	detail = (
		_text(str(exc)) if status < 500 else "The server could not complete the request; it has been logged."
	)
	if status == 401 and (guest_refused or not detail or detail == title):
		detail = authentication_hint()  # Frappe's own text says nothing useful ("not whitelisted", or empty)
	return Problem(status, code, title, detail or title, [], type(exc).__name__)


def authentication_hint() -> str:
	return _(
		"Sign in with OAuth (the WWW-Authenticate header names the metadata), or send credentials: Authorization: Bearer ihk_… (a Hub API Key) or Authorization: token KEY:SECRET (a user's API key and secret)"
	)


def classify(exc_class: type) -> tuple[int, str, str]:
	for klass in exc_class.__mro__:
		if klass.__name__ in FRAMEWORK_ERRORS:
			return FRAMEWORK_ERRORS[klass.__name__]
	return INTERNAL_ERROR


def _text(message: str) -> str:
	return strip_html_tags(str(message or "")).strip()[:1000]

"""Request guards for the hub's API paths: body size, JSON shape, and the rate limit.

They run before the endpoint (from Frappe's `before_request` and `auth_hooks`), so a request over a
limit does nothing. Their errors reach the client as problem+json through `api/errors.py`.
"""

import json
from collections.abc import Callable
from contextlib import suppress

import redis

import frappe
from frappe import _

from integration_hub.documents.exposure import keep_prefetched_resources, prefetch_enabled_resources
from integration_hub.exceptions import BadRequest, PayloadTooLarge, RateLimited
from integration_hub.json_text import max_json_depth, too_deep_problem
from integration_hub.operations.activity import keep_site_awake
from integration_hub.paths import api_endpoint_name, is_api_request
from integration_hub.security import rate_limit
from integration_hub.security.api_keys import current_key, remember_and_raise

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_STRING_LENGTH = 1_000_000
# Endpoints that authenticate by signature and enforce their own limits (inbound webhooks).
SELF_LIMITING_ENDPOINTS = frozenset({"receive"})


def endpoint_name() -> str:
	return api_endpoint_name(frappe.local.request.path)


def check_request_shape() -> None:
	"""before_request hook: refuse oversized bodies and over-deep or over-long JSON arguments."""
	if not is_api_request() or endpoint_name() in SELF_LIMITING_ENDPOINTS:
		return
	max_bytes = int(frappe.conf.get("integration_hub_max_request_bytes") or DEFAULT_MAX_BODY_BYTES)
	size = frappe.local.request.content_length or len(frappe.local.request.get_data(cache=True))
	if size > max_bytes:
		remember_and_raise(
			PayloadTooLarge(
				_("The request body is larger than {0} bytes").format(max_bytes), [{"pointer": ""}]
			)
		)
	for name, value in (frappe.local.form_dict or {}).items():
		problem = shape_problem(value)
		if problem:
			remember_and_raise(BadRequest(problem, [{"pointer": f"/{name}", "detail": problem}]))


def shape_problem(value: object) -> str | None:
	"""Why an argument's parsed value is refused (nested too deeply, a string too long), or None."""
	max_string = int(frappe.conf.get("integration_hub_max_string_length") or DEFAULT_MAX_STRING_LENGTH)
	return _shape_problem(value, max_json_depth(), max_string)


def body_nesting_problem(request) -> str | None:
	"""Why the JSON body of `request` could not be parsed for its nesting, or None: for a request that
	failed before any hook of ours ran (Frappe parses a JSON body first; malformed JSON it reports as
	JSONDecodeError itself)."""
	if not request.is_json:
		return None
	text = request.get_data(as_text=True, cache=True)
	problem = too_deep_problem(text, max_json_depth() + 1)  # the body's own object holds the arguments
	if problem is None:
		try:
			json.loads(text)
		except RecursionError:  # deeper than this process's stack allows, under a very high limit
			problem = _("the body is nested too deeply")
		except ValueError:
			pass
	return problem


def _shape_problem(value: object, max_depth: int, max_string: int, depth: int = 0) -> str | None:
	if depth > max_depth:
		return _("nested more than {0} levels deep").format(max_depth)
	if isinstance(value, str):
		return (
			_("a string longer than {0} characters").format(max_string) if len(value) > max_string else None
		)
	children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
	if isinstance(value, dict) and any(isinstance(k, str) and len(k) > max_string for k in value):
		return _("a key longer than {0} characters").format(max_string)
	for child in children:
		problem = _shape_problem(child, max_depth, max_string, depth + 1)
		if problem:
			return problem
	return None


def enforce_rate_limit() -> None:
	"""auth_hooks entry, after authentication: one hit per API request, per key or per user. The same
	round trip to Redis claims the API-activity marker (note_api_activity) and reads the exposure map
	the endpoint will ask for."""
	if not is_api_request() or endpoint_name() in SELF_LIMITING_ENDPOINTS:
		return
	key = current_key()
	if key is not None:
		bucket, limit = f"key:{key.name}", key.rate_limit_per_minute or rate_limit.user_limit_per_minute()
	elif frappe.session.user not in (None, "", "Guest"):
		bucket, limit = f"user:{frappe.session.user}", rate_limit.user_limit_per_minute()
	else:
		return
	try:
		rate_limit.hit(bucket, limit, also=_with_the_hit)
	except Exception as e:
		if isinstance(e, RateLimited) and frappe.local.flags.pop(_ACTIVITY_CLAIMED, False):
			_release_activity_marker()  # claimed by a request that does nothing: the next one notes it
		remember_and_raise(e)


def _with_the_hit(pipeline) -> Callable[[list], None]:
	_claim_activity_marker(pipeline)
	prefetch_enabled_resources(pipeline)
	return _take_answers


def _take_answers(answers: list) -> None:
	claimed, exposure_map = answers
	frappe.local.flags[_ACTIVITY_CLAIMED] = claimed is True
	keep_prefetched_resources(exposure_map)


API_ACTIVITY_CACHE_KEY = "integration_hub:api_activity_noted"
API_ACTIVITY_SECONDS = 600  # API traffic is noted at most this often (keep_site_awake: once an hour)
_ACTIVITY_CLAIMED = "integration_hub_api_activity_claimed"


def _claim_activity_marker(pipeline) -> None:
	pipeline.set(frappe.cache.make_key(API_ACTIVITY_CACHE_KEY), 1, nx=True, ex=API_ACTIVITY_SECONDS)


def _release_activity_marker() -> None:
	with suppress(redis.exceptions.RedisError, OSError):
		frappe.cache.delete(frappe.cache.make_key(API_ACTIVITY_CACHE_KEY))


def note_api_activity() -> None:
	"""auth_hooks entry: authenticated API traffic is site activity, so that Frappe does not treat an
	API-only hub as dormant and slow its scheduler (sync, deliveries) to once a day. The request that
	claimed the marker (enforce_rate_limit, every API_ACTIVITY_SECONDS) records it."""
	if not frappe.local.flags.pop(_ACTIVITY_CLAIMED, False):
		return
	try:
		if keep_site_awake(subject=_("Integration hub: API traffic")):
			frappe.db.commit()  # an auth hook runs before the endpoint: this commits nothing else
	except Exception:
		_release_activity_marker()  # not recorded: the next request claims it again
		raise

"""Receiving an inbound webhook: find the endpoint, limit, verify the raw body, store the event once.

The signature is the authentication: nothing of a request is parsed or stored before it verifies. A
verified new event becomes a Hub Inbound Event (`Queued`) and a background job; the sender gets 202 at
once. A redelivery of an event already stored (same endpoint and event id) gets 200 and does nothing.
"""

import hashlib
import json
import re
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from integration_hub import json_text
from integration_hub.exceptions import BadRequest, NotFound, PayloadTooLarge
from integration_hub.inbound import ENDPOINT, EVENT, verification
from integration_hub.inbound.jobs import enqueue_processing
from integration_hub.mapping.field_maps import get_path
from integration_hub.security import rate_limit

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ID_LENGTH = 255
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,140}$")
CONFIG_FIELDS = (
	"name",
	"enabled",
	"verification",
	"secret_header",
	"tolerance_seconds",
	"event_id_header",
	"event_id_path",
	"rate_limit_per_minute",
)
DEFAULT_EVENT_ID_HEADERS = {
	verification.STANDARD_WEBHOOKS: "webhook-id",
	verification.GITHUB: "X-GitHub-Delivery",
}
DEFAULT_EVENT_ID_PATHS = {verification.STRIPE: "id"}


@dataclass
class Receipt:
	status: int  # 202 stored and queued, 200 a redelivery
	event: str
	duplicate: bool

	def as_dict(self) -> dict:
		return {"event": self.event, "status": "duplicate" if self.duplicate else "queued"}


def endpoint_config(endpoint: object) -> frappe._dict:
	"""The enabled endpoint's configuration (the hub's own bookkeeping); NotFound (404) otherwise."""
	config = None
	if isinstance(endpoint, str) and ENDPOINT_NAME.match(endpoint):
		config = frappe.db.get_value(ENDPOINT, endpoint, CONFIG_FIELDS, as_dict=True)
	if not config or not config.enabled:
		raise NotFound(_("No enabled inbound endpoint {0}").format(str(endpoint or "")[:140]))
	return config


def max_body_bytes() -> int:
	return int(frappe.conf.get("integration_hub_inbound_max_bytes") or DEFAULT_MAX_BODY_BYTES)


def receive(endpoint: object, request) -> Receipt:
	config = endpoint_config(endpoint)
	rate_limit.hit(f"inbound:{config.name}", config.rate_limit_per_minute or 0)
	limit = max_body_bytes()
	if (request.content_length or 0) > limit:
		raise PayloadTooLarge(_("The request body is larger than {0} bytes").format(limit))
	body = request.get_data(cache=True)
	if len(body) > limit:
		raise PayloadTooLarge(_("The request body is larger than {0} bytes").format(limit))
	verification.verify(
		config.verification,
		get_decrypted_password(ENDPOINT, config.name, "secret", raise_exception=False) or "",
		request.headers,
		body,
		tolerance_seconds=config.tolerance_seconds or 0,
		secret_header=config.secret_header or "",
	)
	try:
		text = body.decode("utf-8")
	except UnicodeDecodeError:
		raise BadRequest(_("The body is not UTF-8 text"))
	if request.is_json or text.lstrip()[:1] in ("{", "["):
		problem = json_text.too_deep_problem(text)  # processing parses it later: refuse it now
		if problem:
			raise BadRequest(_("The body: {0}").format(problem))
	event_id = event_id_of(config, request.headers, text)
	return store(config, event_id, request.headers, text)


def event_id_of(config, headers, text: str) -> str:
	if config.event_id_header or config.event_id_path:
		header, path = config.event_id_header, config.event_id_path
	else:
		header = DEFAULT_EVENT_ID_HEADERS.get(config.verification)
		path = DEFAULT_EVENT_ID_PATHS.get(config.verification)
	if header:
		value = headers.get(header)
		if not value:
			raise BadRequest(_("The {0} header with the event id is missing").format(header))
	elif path:
		value = get_path(parse_json(text), path)
		if value in (None, "") or isinstance(value, dict | list):
			raise BadRequest(
				_("The body has no event id at {0}").format(path), [{"pointer": "/" + path.replace(".", "/")}]
			)
	else:
		value = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
	value = str(value)
	if len(value) > MAX_EVENT_ID_LENGTH:
		raise BadRequest(_("The event id is longer than {0} characters").format(MAX_EVENT_ID_LENGTH))
	return value


def parse_json(text: str) -> object:
	return json_text.loads(text, _("The body"))


def dedupe_key(endpoint: str, event_id: str) -> str:
	return hashlib.sha256(f"{endpoint}\n{event_id}".encode()).hexdigest()


def store(config, event_id: str, headers, text: str) -> Receipt:
	key = dedupe_key(config.name, event_id)
	existing = frappe.db.get_value(EVENT, {"dedupe_key": key}, "name")
	if existing:
		return Receipt(200, existing, duplicate=True)
	event = frappe.get_doc(
		{
			"doctype": EVENT,
			"endpoint": config.name,
			"event_id": event_id,
			"dedupe_key": key,
			"status": "Queued",
			"received_at": now_datetime(),
			"attempts": 0,
			"headers": json.dumps(
				verification.storable_headers(headers, config.secret_header or ""), indent=1
			),
			"body": text,
		}
	)
	frappe.db.savepoint("integration_hub_inbound_store")
	try:
		event.insert(ignore_permissions=True)  # the hub's own log of a verified request
	except (
		frappe.DuplicateEntryError,
		frappe.UniqueValidationError,
	):  # the same event arriving concurrently: its twin is stored
		frappe.db.rollback(save_point="integration_hub_inbound_store")
		return Receipt(200, frappe.db.get_value(EVENT, {"dedupe_key": key}, "name"), duplicate=True)
	enqueue_processing(event.name)
	return Receipt(202, event.name, duplicate=False)


def record_rejection(endpoint: str) -> None:
	"""Count a request refused for its signature: the only trace it leaves."""
	frappe.db.sql(
		"update `tabHub Inbound Endpoint` set rejected_count = ifnull(rejected_count, 0) + 1 where name = %s",
		endpoint,
	)

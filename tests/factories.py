"""factory-boy factories: every DocType the tests create is made here, through `Document.insert()`."""

import base64
import secrets

import factory

import frappe

from tests.fixtures_doctypes import CATEGORY


def field_map_row(row: tuple) -> dict:
	"""A field map row (sync jobs, inbound endpoints) from (remote_field, local_field, transform,
	argument, is_key)."""
	remote_field, local_field, transform, argument, is_key = row
	return {
		"remote_field": remote_field,
		"local_field": local_field,
		"transform": transform,
		"transform_argument": argument,
		"is_key": is_key,
	}


def fieldname_row(fieldname: str) -> dict:
	return {"fieldname": fieldname}


class FrappeFactory(factory.Factory):
	"""Build a Frappe document and insert it with the current user's permissions."""

	class Meta:
		abstract = True

	# Child tables a test may pass in short form: (table fieldname, how one value becomes a row).
	_rows: tuple = ()

	@classmethod
	def _build(cls, model_class, *args, **kwargs):
		for table, make_row in cls._rows:
			kwargs[table] = [make_row(value) for value in kwargs.get(table) or ()]
		return frappe.get_doc({"doctype": cls._meta.model, **kwargs})

	@classmethod
	def _create(cls, model_class, *args, **kwargs):
		return cls._build(model_class, *args, **kwargs).insert()


class UserFactory(FrappeFactory):
	class Meta:
		model = "User"

	email = factory.Sequence(lambda n: f"hub-user-{n}-{frappe.generate_hash(length=6)}@example.com")
	first_name = factory.Sequence(lambda n: f"Hub User {n}")
	send_welcome_email = 0
	user_type = "System User"
	roles = factory.LazyFunction(list)
	_rows = (("roles", lambda role: {"role": role}),)


class ToDoFactory(FrappeFactory):
	class Meta:
		model = "ToDo"

	description = factory.Sequence(lambda n: f"Integration hub test task {n}")
	status = "Open"
	priority = "Medium"


def issue_api_token(user: "frappe.model.document.Document") -> str:
	"""Give the user a Frappe API key and secret; return them as `key:secret` for `token` auth."""
	api_secret = frappe.generate_hash(length=15)
	user.api_key = frappe.generate_hash(length=15)
	user.api_secret = api_secret
	user.save(ignore_permissions=True)
	return f"{user.api_key}:{api_secret}"


class HubResourceFactory(FrappeFactory):
	class Meta:
		model = "Hub Resource"

	document_type = "Hub Test Item"
	enabled = 1
	allow_read = 1
	allow_create = 1
	allow_update = 1
	allow_delete = 1
	key_fields = "code"
	fields = factory.LazyFunction(list)
	_rows = (("fields", fieldname_row),)


class CategoryFactory(FrappeFactory):
	class Meta:
		model = "Hub Test Category"

	category_name = factory.Sequence(lambda n: f"Category {n} {frappe.generate_hash(length=4)}")


class ItemFactory(FrappeFactory):
	class Meta:
		model = "Hub Test Item"

	code = factory.Sequence(lambda n: f"ITEM-{n:05d}-{frappe.generate_hash(length=4)}")
	title = factory.Sequence(lambda n: f"Item {n}")
	qty = 1
	status = "Active"


class UserPermissionFactory(FrappeFactory):
	class Meta:
		model = "User Permission"

	allow = "Hub Test Category"
	apply_to_all_doctypes = 1


class HubSubscriptionFactory(FrappeFactory):
	"""A webhook subscription; pass `endpoint_url` (a test receiver) and `fields` as a list of fieldnames."""

	class Meta:
		model = "Hub Subscription"

	subscription_name = factory.Sequence(lambda n: f"Subscription {n} {frappe.generate_hash(length=6)}")
	endpoint_url = "http://127.0.0.1:9/unused"
	document_type = "Hub Test Item"
	run_as = "Administrator"
	enabled = 1
	send_on_insert = 1
	send_on_update = 1
	send_on_delete = 1
	timeout_seconds = 5
	fields = factory.LazyFunction(list)
	_rows = (("fields", fieldname_row),)


class HubConnectionFactory(FrappeFactory):
	"""A remote system; pass `base_url` (a test server) and the credentials it expects."""

	class Meta:
		model = "Hub Connection"

	connection_name = factory.Sequence(lambda n: f"Remote {n} {frappe.generate_hash(length=6)}")
	connection_type = "Frappe"
	base_url = "http://127.0.0.1:9"
	auth_type = "None"
	timeout_seconds = 30
	verify_tls = 1


class HubSyncJobFactory(FrappeFactory):
	"""A sync job; `field_map` is a list of (remote_field, local_field, transform, argument, is_key)."""

	class Meta:
		model = "Hub Sync Job"

	job_name = factory.Sequence(lambda n: f"Sync job {n} {frappe.generate_hash(length=6)}")
	connection = factory.LazyFunction(lambda: HubConnectionFactory().name)
	direction = "Pull"
	enabled = 1
	local_doctype = "Hub Test Item"
	remote_resource = "Hub Test Item"
	run_as = "Administrator"
	schedule = "*/15 * * * *"
	batch_size = 100
	lookback_seconds = 0
	conflict_policy = "remote_wins"
	on_remote_delete = "Delete"
	field_map = factory.LazyFunction(
		lambda: [("code", "code", "", "", 1), ("title", "title", "", "", 0), ("qty", "qty", "", "", 0)]
	)

	_rows = (("field_map", field_map_row),)


class HubAPIKeyFactory(FrappeFactory):
	"""The plain token is on `key.flags.plain_token`, as the Desk shows it once after insert."""

	class Meta:
		model = "Hub API Key"

	key_name = factory.Sequence(lambda n: f"Test key {n}")
	enabled = 1
	rate_limit_per_minute = 0
	scopes = factory.LazyFunction(list)
	methods = factory.LazyFunction(list)  # public names of Hub Methods
	reports = factory.LazyFunction(list)  # public names of Hub Reports
	_rows = (("methods", lambda method: {"method": method}), ("reports", lambda report: {"report": report}))


class HubReportFactory(FrappeFactory):
	class Meta:
		model = "Hub Report"

	enabled = 1


class HubMethodFactory(FrappeFactory):
	class Meta:
		model = "Hub Method"

	enabled = 1
	only_reads = 0


class HubInboundEndpointFactory(FrappeFactory):
	"""An inbound endpoint mapping into Hub Test Item; `field_map` rows are
	(remote_field, local_field, transform, argument, is_key)."""

	class Meta:
		model = "Hub Inbound Endpoint"

	endpoint = factory.Sequence(lambda n: f"inbound-{n}-{frappe.generate_hash(length=8)}")
	enabled = 1
	verification = "Standard Webhooks"
	secret = factory.LazyFunction(lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
	secret_header = "X-Webhook-Secret"
	tolerance_seconds = 300
	action = "Map to DocType"
	run_as = "Administrator"
	document_type = "Hub Test Item"
	records_path = ""
	rate_limit_per_minute = 600
	field_map = factory.LazyFunction(
		lambda: [("code", "code", "", "", 1), ("title", "title", "", "", 0), ("qty", "qty", "int", "", 0)]
	)

	_rows = (("field_map", field_map_row),)


def expose_items_and_categories(track) -> None:
	"""Hub Test Item exposed with every operation and Hub Test Category read-only (keyed by name), as
	the MCP and assistant tests use them; `track` is a Committed's."""
	track(HubResourceFactory(allow_delete=1))
	track(
		HubResourceFactory(
			document_type=CATEGORY, allow_create=0, allow_update=0, allow_delete=0, key_fields="name"
		)
	)

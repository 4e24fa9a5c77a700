app_name = "integration_hub"
app_title = "Integration Hub"
app_publisher = "integration_hub contributors"
app_description = (
	"Turns a Frappe site into an integration hub: a curated API, durable signed webhooks "
	"and scheduled background sync"
)
app_email = "maintainers@integration-hub.invalid"
app_license = "mit"

required_apps = []

# Controllers get `DF` type annotations when DocTypes are saved in developer mode.
export_python_type_annotations = True

before_install = "integration_hub.install.ensure_roles"
after_install = "integration_hub.install.after_install"
after_migrate = "integration_hub.install.after_migrate"

# Every write to an exposed DocType goes into the change feed, in the writer's transaction; every change
# that a Hub Subscription wants goes into the outbound-event outbox, in the same transaction.
_OUTBOX = "integration_hub.events.outbox.on_document_event"
doc_events = {
	"*": {
		"after_insert": [_OUTBOX],
		"on_update": ["integration_hub.documents.changes.on_document_write", _OUTBOX],
		"on_submit": [_OUTBOX],
		"on_cancel": ["integration_hub.documents.changes.on_document_write", _OUTBOX],
		"on_update_after_submit": ["integration_hub.documents.changes.on_document_write", _OUTBOX],
		"after_delete": ["integration_hub.documents.changes.on_document_delete", _OUTBOX],
		"after_rename": ["integration_hub.documents.changes.on_document_rename"],
	},
	"User Permission": {
		"on_update": ["integration_hub.documents.permissions.forget_decisions"],
		"on_trash": ["integration_hub.documents.permissions.forget_decisions"],
	},
}

# Frappe's own error pages become problem+json on the API's paths (JSON-RPC errors on the MCP path).
# Every answer on those paths names its call (X-Request-Id; integration_hub/request_id.py).
after_request = [
	"integration_hub.api.errors.render_framework_errors",
	"integration_hub.api.mcp.endpoint.render_framework_errors",
	"integration_hub.request_id.set_response_header",
]
override_whitelisted_methods = {
	# The MCP endpoint's address: /api/method/integration_hub.api.mcp
	"integration_hub.api.mcp": "integration_hub.api.mcp.endpoint.handle",
	# Frappe 15's frappe.client.get_count counts a table directly, which a virtual DocType (Hub Event)
	# does not have: this one asks the DocType's controller instead, and is Frappe's own for the others.
	"frappe.client.get_count": "integration_hub.integration_hub.doctype.hub_event.hub_event.get_count",
}

# "all" runs every 4 minutes by default; sync jobs are due on any minute, webhooks (outbound deliveries
# and inbound events) are swept every minute. Frappe names a Scheduled Job Type after the last two
# parts of its method ("jobs.sweep"), so no two scheduled methods may share them.
scheduler_events = {
	"all": ["integration_hub.documents.sequencer.position_committed_changes"],
	"hourly": ["integration_hub.tasks.prune_idempotency_keys"],
	"daily": [
		"integration_hub.tasks.prune_change_log",
		"integration_hub.tasks.prune_key_locks",
		"integration_hub.tasks.prune_oauth_tokens",
	],
	"cron": {
		"* * * * *": [
			"integration_hub.sync.scheduler.enqueue_due_jobs",
			"integration_hub.events.jobs.sweep",
			"integration_hub.inbound.jobs.sweep_due_events",
		]
	},
}

# Retention through Log Settings (days, changeable there); events go with their deliveries. Inbound
# events are kept 30 days.
default_log_clearing_doctypes = {"Hub Delivery": 30, "Hub Sync Run": 90, "Hub Inbound Event": 30}

# Events and deliveries name the document they are about; that must not stop anyone deleting it.
ignore_links_on_delete = ["Hub Event", "Hub Delivery"]

# Scoped API keys (`Authorization: Bearer ihk_...`), then the per-key / per-user rate limit.
auth_hooks = [
	"integration_hub.security.api_keys.authenticate",
	"integration_hub.security.oauth.tokens.authenticate",
	"integration_hub.security.limits.enforce_rate_limit",
	"integration_hub.security.limits.note_api_activity",
]
# Body size and JSON shape limits on the hub's API paths, before any endpoint runs.
before_request = ["integration_hub.security.limits.check_request_shape"]

# The OAuth discovery documents at /.well-known/ (security/oauth/metadata.py): outside /api, so served
# as pages.
page_renderer = ["integration_hub.security.oauth.metadata.WellKnownPage"]

# Inbound webhooks: apps register handlers under `integration_hub_inbound_handlers = {"name":
# "app.module.function"}` in their own hooks.py (see inbound/handlers.py).

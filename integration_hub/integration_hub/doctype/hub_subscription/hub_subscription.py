# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from RestrictedPython import compile_restricted

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils.safe_exec import FrappeTransformer

from integration_hub.events import controls as webhook_controls
from integration_hub.events.retry import DEFAULT_SCHEDULE, parse_schedule
from integration_hub.events.subscriptions import map_entry, update_subscription_map
from integration_hub.exceptions import (
	InvalidCondition,
	InvalidLimit,
	InvalidSchedule,
	InvalidSecret,
	NotSubscribable,
)
from integration_hub.field_tables import check_field_rows
from integration_hub.http_client import OutboundRequestRefused, check_url
from integration_hub.integration_hub.desk import desk_action, show_secret_once
from integration_hub.security.roles import integration_manager_only
from integration_hub.webhooks import signing

# The hub's own records: an event about them would describe the hub writing itself.
UNSUBSCRIBABLE = (
	"Hub Event",
	"Hub Delivery",
	"Hub Delivery Attempt",
	"Hub Change",
	"Hub Idempotency Key",
	"Hub Lock",
)


class HubSubscription(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_subscription_field.hub_subscription_field import (
			HubSubscriptionField,
		)

		condition: DF.Code | None
		consecutive_failures: DF.Int
		disabled_at: DF.Datetime | None
		disabled_reason: DF.SmallText | None
		document_type: DF.Link
		enabled: DF.Check
		endpoint_url: DF.Data
		failing_since: DF.Datetime | None
		fields: DF.Table[HubSubscriptionField]
		last_failure_at: DF.Datetime | None
		last_success_at: DF.Datetime | None
		previous_secret: DF.Password | None
		previous_secret_expires_at: DF.Datetime | None
		retry_schedule: DF.Data | None
		run_as: DF.Link
		secret: DF.Password | None
		send_on_cancel: DF.Check
		send_on_delete: DF.Check
		send_on_insert: DF.Check
		send_on_submit: DF.Check
		send_on_update: DF.Check
		status: DF.Literal["Active", "Disabled"]
		subscription_name: DF.Data
		timeout_seconds: DF.Int
	# end: auto-generated types

	def validate(self):
		self.validate_document_type()
		self.validate_endpoint()
		self.validate_fields()
		self.validate_condition()
		self.validate_delivery_settings()
		self.validate_secret()
		self.track_status()

	def validate_document_type(self):
		meta = frappe.get_meta(self.document_type)
		if meta.istable or meta.issingle or meta.is_virtual or self.document_type in UNSUBSCRIBABLE:
			frappe.throw(
				_("Events cannot be sent for {0}: choose a DocType with its own documents").format(
					frappe.bold(self.document_type)
				),
				title=_("Cannot subscribe to this DocType"),
				exc=NotSubscribable,
			)

	def validate_endpoint(self):
		self.endpoint_url = (self.endpoint_url or "").strip()
		if self.has_value_changed("endpoint_url") or self.is_new():
			try:
				check_url(self.endpoint_url, must_resolve=True)
			except OutboundRequestRefused as e:
				frappe.throw(str(e), exc=OutboundRequestRefused, title=_("Endpoint not allowed"))

	def validate_fields(self):
		check_field_rows(self.fields, "fieldname", self.document_type, title=_("Invalid payload field"))

	def validate_condition(self):
		# Syntax and the safe-eval rules only: an empty document could fail a condition that is fine.
		self.condition = (self.condition or "").strip() or None
		if not self.condition:
			return
		try:
			# The policy Frappe's own safe_eval compiles with (an internal of frappe.utils.safe_exec; Frappe
			# pins RestrictedPython 7 on 15.44.2 and 8 on 15.75.0: the subscription tests run on both).
			compile_restricted(self.condition, filename="<condition>", policy=FrappeTransformer, mode="eval")
		except SyntaxError as e:
			frappe.throw(
				_("The condition is not valid: {0}").format(e),
				title=_("Invalid condition"),
				exc=InvalidCondition,
			)

	def validate_delivery_settings(self):
		if not 1 <= (self.timeout_seconds or 0) <= 60:
			frappe.throw(
				_("The timeout must be between 1 and 60 seconds"),
				title=_("Invalid timeout"),
				exc=InvalidLimit,
			)
		try:
			schedule = parse_schedule(self.retry_schedule)
		except ValueError as e:
			frappe.throw(
				_(
					"The retry schedule is not valid at {0}: write waits like 5s, 5m, 2h, 1d separated by commas (at most 20)"
				).format(frappe.bold(str(e))),
				title=_("Invalid retry schedule"),
				exc=InvalidSchedule,
			)
		self.retry_schedule = ", ".join(
			f"{part.strip()}" for part in (self.retry_schedule or DEFAULT_SCHEDULE).split(",")
		)
		return schedule

	def validate_secret(self):
		if not self.secret:
			self.secret = self.flags.generated_secret = signing.generate_secret()
		elif not self.is_dummy_password(self.secret):
			try:
				signing.secret_key(self.secret)
			except ValueError as e:
				frappe.throw(
					_("The signing secret is not valid: {0}").format(e),
					title=_("Invalid secret"),
					exc=InvalidSecret,
				)

	def track_status(self):
		if self.status == "Active":
			self.disabled_reason = self.disabled_at = None
		elif self.has_value_changed("status") and not self.disabled_reason:
			self.disabled_reason = _("Disabled by {0}").format(frappe.session.user)
			self.disabled_at = frappe.utils.now_datetime()

	def on_change(self):
		update_subscription_map(self.name, map_entry(self))

	def after_insert(self):
		if self.flags.generated_secret:
			self.show_secret(self.flags.generated_secret, _("Signing secret of {0}").format(self.name))

	def show_secret(self, secret: str, title: str) -> None:
		show_secret_once(
			secret,
			title=title,
			how_to_use=_(
				"Set it on the receiver: it verifies the <code>webhook-signature</code> header of every delivery with it."
			),
		)

	# --- the form's buttons: the hub's operations, which check the caller's role ------------------

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def send_test_event(self) -> dict:
		return webhook_controls.send_test_event(self.name)

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def rotate_secret(self) -> dict:
		result = webhook_controls.rotate_secret(self.name)
		self.show_secret(result.pop("secret"), _("New signing secret of {0}").format(self.name))
		return result

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def recover(self, since: str) -> dict:
		return webhook_controls.recover(self.name, since)

	def on_trash(self):
		# Its events and deliveries go with it: they can never be sent again.
		deliveries = frappe.db.sql("select name from `tabHub Delivery` where subscription = %s", (self.name,))
		names = [str(row[0]) for row in deliveries]
		if names:
			frappe.db.sql("delete from `tabHub Delivery Attempt` where parent in %s", (tuple(names),))
		frappe.db.sql("delete from `tabHub Delivery` where subscription = %s", (self.name,))

	def after_delete(self):
		update_subscription_map(self.name, None)

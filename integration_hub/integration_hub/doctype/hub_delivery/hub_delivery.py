# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from integration_hub.events import controls as webhook_controls
from integration_hub.events import retention
from integration_hub.install import cache_name_sequence
from integration_hub.integration_hub.desk import desk_action
from integration_hub.security.roles import integration_manager_only


class HubDelivery(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_delivery_attempt.hub_delivery_attempt import (
			HubDeliveryAttempt,
		)

		attempt_count: DF.Int
		attempts: DF.Table[HubDeliveryAttempt]
		completed_at: DF.Datetime | None
		event: DF.Link | None
		event_type: DF.Data | None
		last_attempt_at: DF.Datetime | None
		last_status_code: DF.Int
		name: DF.Int | None
		next_attempt_at: DF.Datetime | None
		occurred_at: DF.Datetime | None
		payload: DF.Code | None
		recorded_attempts: DF.Int
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		request_id: DF.Data | None
		status: DF.Literal["Pending", "Failed", "Succeeded", "Dead"]
		subscription: DF.Link | None
	# end: auto-generated types

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def redeliver(self) -> dict:
		"""The form's Redeliver button: send it again now, whatever its state (Integration Manager)."""
		return webhook_controls.redeliver(self.name)

	@staticmethod
	def clear_old_logs(days: int = retention.DEFAULT_RETENTION_DAYS) -> None:
		"""Log Settings' retention: succeeded and dead deliveries (events) older than `days`, with their
		attempts."""
		retention.prune(days)


def on_doctype_update():
	# The sweep reads due deliveries; ordering reads a subscription's deliveries of one document; the
	# operators' views count recent deliveries by creation.
	frappe.db.add_index("Hub Delivery", ["status", "next_attempt_at"])
	frappe.db.add_index("Hub Delivery", ["subscription", "reference_name", "reference_doctype"])
	frappe.db.add_index("Hub Delivery", ["subscription", "sequence_key", "reference_doctype"])
	frappe.db.add_index("Hub Delivery", ["creation"])
	# Deliveries are listed and pruned by their number, never by `modified`; the index Frappe gives every
	# table on it would only slow the writes on the hot path of every subscribed document change.
	if frappe.db.get_column_index("tabHub Delivery", "modified", unique=False):
		frappe.db.sql_ddl("alter table `tabHub Delivery` drop index `modified`")
	cache_name_sequence("Hub Delivery")

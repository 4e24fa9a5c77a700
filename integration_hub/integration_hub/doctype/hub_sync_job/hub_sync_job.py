# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

from croniter import croniter

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.documents.exposure import BATCH_SIZE_LIMIT, is_exposed
from integration_hub.exceptions import InvalidLimit, InvalidSchedule, InvalidSyncSetting
from integration_hub.field_tables import is_value_field
from integration_hub.integration_hub.desk import desk_action
from integration_hub.mapping.checks import check_field_map
from integration_hub.security.roles import integration_manager_only
from integration_hub.sync import controls as sync_controls

# Kept by the runner and the scheduler; a form save never overwrites them.
STATE_FIELDS = (
	"cursor",
	"pending_failures",
	"last_run",
	"last_run_status",
	"last_run_at",
	"last_scheduled_at",
)


class HubSyncJob(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_sync_field_map.hub_sync_field_map import (
			HubSyncFieldMap,
		)

		batch_size: DF.Int
		conflict_policy: DF.Literal["remote_wins", "local_wins", "newest_wins"]
		connection: DF.Link
		connection_type: DF.Data | None
		cursor: DF.LongText | None
		cursor_field: DF.Data | None
		cursor_param: DF.Data | None
		direction: DF.Literal["Pull", "Push"]
		disable_field: DF.Data | None
		disable_value: DF.Data | None
		enabled: DF.Check
		field_map: DF.Table[HubSyncFieldMap]
		id_field: DF.Data | None
		job_name: DF.Data
		last_run: DF.Link | None
		last_run_at: DF.Datetime | None
		last_run_status: DF.Literal["", "Running", "Succeeded", "Partial", "Failed"]
		last_scheduled_at: DF.Datetime | None
		local_doctype: DF.Link
		lookback_seconds: DF.Int
		next_cursor_path: DF.Data | None
		on_remote_delete: DF.Literal["Delete", "Disable", "Ignore"]
		page_size_param: DF.Data | None
		pending_failures: DF.Int
		records_path: DF.Data | None
		remote_resource: DF.Data
		run_as: DF.Link
		schedule: DF.Data

	# end: auto-generated types
	def validate(self):
		self.keep_runner_state()
		self.validate_schedule()
		self.validate_batch_size()
		self.validate_field_map()
		self.validate_direction()
		self.validate_rest_paging()
		self.validate_deletion_policy()
		self.validate_shared_links()
		self.validate_run_as()

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def run_now(self) -> dict:
		"""The form's Run Now button (Integration Manager)."""
		return sync_controls.run_now(sync_controls.managed_job(self.name))

	@frappe.whitelist(methods=["POST"])
	@desk_action
	@integration_manager_only
	def reset_cursor(self) -> dict:
		"""The form's Reset Cursor button (Integration Manager)."""
		return sync_controls.reset_cursor(sync_controls.managed_job(self.name))

	def on_trash(self):
		# A job's runs and failures go with it (Hub Sync Link belongs to the connection and stays).
		for doctype in ("Hub Sync Failure", "Hub Sync Run"):
			frappe.db.delete(doctype, {"job": self.name})

	def keep_runner_state(self):
		"""The state fields belong to the runner: read them back (with a locking read, so a page
		committing meanwhile is waited for) instead of trusting the form's copy."""
		if self.is_new():
			for fieldname in STATE_FIELDS:
				self.set(fieldname, None)
			return
		stored = frappe.db.sql(
			f"select {', '.join(f'`{f}`' for f in STATE_FIELDS)} from `tabHub Sync Job` where name = %s for update",
			(self.name,),
			as_dict=True,
		)
		for fieldname in STATE_FIELDS:
			self.set(fieldname, stored[0][fieldname] if stored else None)

	def validate_schedule(self):
		self.schedule = (self.schedule or "").strip()
		if not croniter.is_valid(self.schedule):
			frappe.throw(
				_(
					"{0} is not a cron expression; e.g. <code>*/15 * * * *</code> runs every 15 minutes"
				).format(frappe.bold(self.schedule)),
				title=_("Invalid schedule"),
				exc=InvalidSchedule,
			)

	def validate_batch_size(self):
		if not 1 <= (self.batch_size or 0) <= BATCH_SIZE_LIMIT:
			frappe.throw(
				_("Batch Size must be between 1 and {0}").format(BATCH_SIZE_LIMIT),
				title=_("Invalid batch size"),
				exc=InvalidLimit,
			)

	def validate_field_map(self):
		check_field_map(self.field_map, self.local_doctype)

	def validate_direction(self):
		connection_type = frappe.db.get_value("Hub Connection", self.connection, "connection_type")
		if self.direction == "Push":
			if connection_type != "Frappe":
				frappe.throw(
					_("Push jobs need a Frappe connection; REST connections can only be pulled from"),
					exc=InvalidSyncSetting,
				)
			if not is_exposed(self.local_doctype):
				frappe.throw(
					_(
						"Push reads local changes from the change feed, which records changes of exposed DocTypes only: enable a Hub Resource for {0} first"
					).format(frappe.bold(self.local_doctype)),
					title=_("DocType not exposed"),
					exc=InvalidSyncSetting,
				)

	def validate_rest_paging(self):
		if frappe.db.get_value("Hub Connection", self.connection, "connection_type") != "REST":
			return
		if not (self.id_field or "").strip():
			frappe.throw(_("Set the Record ID Field of the REST records"), exc=InvalidSyncSetting)
		if not (self.cursor_field or "").strip() and not (self.next_cursor_path or "").strip():
			frappe.throw(
				_("Set a Cursor Field or a Next Cursor Path, so that the job can read page after page"),
				exc=InvalidSyncSetting,
			)
		if (self.cursor_field or "").strip() and not (self.cursor_param or "").strip():
			frappe.throw(
				_("Set the Cursor Parameter that passes the cursor field's value to the endpoint"),
				exc=InvalidSyncSetting,
			)

	def validate_deletion_policy(self):
		if self.on_remote_delete != "Disable":
			return
		if not is_value_field(
			frappe.get_meta(self.local_doctype), (self.disable_field or "").strip(), standard=False
		):
			frappe.throw(
				_("{0} is not a field of {1}").format(
					frappe.bold(self.disable_field or ""), self.local_doctype
				),
				title=_("Invalid disable field"),
				exc=InvalidSyncSetting,
			)

	def validate_shared_links(self):
		"""Pull and Push jobs of one connection and DocType share their links: one remote resource."""
		others = frappe.get_all(
			"Hub Sync Job",
			filters={
				"connection": self.connection,
				"local_doctype": self.local_doctype,
				"name": ["!=", self.name or ""],
			},
			fields=["name", "remote_resource"],
		)
		for other in others:
			if other.remote_resource != self.remote_resource:
				frappe.throw(
					_(
						"Sync job {0} already links {1} on this connection with {2}; use the same remote resource"
					).format(frappe.bold(other.name), self.local_doctype, frappe.bold(other.remote_resource)),
					title=_("Another remote resource"),
					exc=InvalidSyncSetting,
				)

	def validate_run_as(self):
		"""Whoever configures a job cannot make it act with more rights than they have themselves."""
		if not self.has_value_changed("run_as") and not self.is_new():
			return
		if self.run_as == frappe.session.user or "System Manager" in frappe.get_roles():
			return
		extra = set(frappe.get_roles(self.run_as)) - set(frappe.get_roles())
		if extra:
			frappe.throw(
				_(
					"Only a System Manager may make a job run as {0}, who has roles you do not have: {1}"
				).format(self.run_as, ", ".join(sorted(extra))),
				frappe.PermissionError,
				title=_("Run As not permitted"),
			)

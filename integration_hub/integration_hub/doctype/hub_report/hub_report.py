# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.curation import clear_at_transaction_end, public_name_refusal
from integration_hub.exceptions import NotRunnable
from integration_hub.reports.catalog import ENABLED_REPORTS_CACHE_KEY, report_refusal
from integration_hub.reports.definition import declared_filters


class HubReport(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from integration_hub.integration_hub.doctype.hub_report_filter.hub_report_filter import (
			HubReportFilter,
		)

		description: DF.SmallText | None
		enabled: DF.Check
		filters: DF.Table[HubReportFilter]
		report: DF.Link
		report_name: DF.Data
	# end: auto-generated types

	def validate(self):
		if refusal := public_name_refusal(self.report_name):
			frappe.throw(
				_("Public Name {0}: {1}").format(frappe.bold(self.report_name), refusal),
				title=_("Invalid Public Name"),
				exc=NotRunnable,
			)
		if refusal := report_refusal(self.report):
			frappe.throw(
				_("{0} cannot be exposed: {1}").format(frappe.bold(self.report), refusal),
				title=_("Cannot expose this report"),
				exc=NotRunnable,
			)
		if not self.filters:
			self.read_filters()

	@frappe.whitelist()
	def read_filters(self):
		"""Fill the filters from the report's own definition (its script), replacing the rows."""
		self.set("filters", [row for row in declared_filters(self.report) if row.get("fieldname")])

	def on_update(self):
		clear_at_transaction_end(ENABLED_REPORTS_CACHE_KEY)

	def on_trash(self):
		clear_at_transaction_end(ENABLED_REPORTS_CACHE_KEY)

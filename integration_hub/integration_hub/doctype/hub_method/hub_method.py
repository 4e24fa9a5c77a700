# Copyright (c) 2026, integration_hub contributors and contributors
# For license information, please see license.txt

import inspect

import frappe
from frappe import _
from frappe.model.document import Document

from integration_hub.curation import clear_at_transaction_end, public_name_refusal
from integration_hub.exceptions import NotCallable
from integration_hub.methods.arguments import describe_arguments
from integration_hub.methods.catalog import ENABLED_METHODS_CACHE_KEY, resolve


class HubMethod(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		arguments: DF.SmallText | None
		description: DF.SmallText | None
		enabled: DF.Check
		method_name: DF.Data
		method_path: DF.Data
		only_reads: DF.Check
		returns_doctype: DF.Link | None
	# end: auto-generated types

	def validate(self):
		self.method_path = (self.method_path or "").strip()
		if refusal := public_name_refusal(self.method_name):
			frappe.throw(
				_("Public Name {0}: {1}").format(frappe.bold(self.method_name), refusal),
				title=_("Invalid Public Name"),
				exc=NotCallable,
			)
		function, refusal = resolve(self.method_path)
		if function is None:
			frappe.throw(
				_("{0} cannot be exposed: {1}").format(frappe.bold(self.method_path), refusal),
				title=_("Cannot expose this method"),
				exc=NotCallable,
			)
		self.arguments = describe_arguments(function)
		if not self.description:
			self.description = inspect.cleandoc(function.__doc__ or "")[:1000] or None
		if self.returns_doctype and not frappe.db.get_value(
			"Hub Resource", {"name": self.returns_doctype, "enabled": 1}
		):
			frappe.msgprint(
				_(
					"{0} is not an enabled Hub Resource yet: calls that return one are refused until it is"
				).format(frappe.bold(self.returns_doctype)),
				indicator="orange",
				alert=True,
			)

	def on_update(self):
		clear_at_transaction_end(ENABLED_METHODS_CACHE_KEY)

	def on_trash(self):
		clear_at_transaction_end(ENABLED_METHODS_CACHE_KEY)

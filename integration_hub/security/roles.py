"""The one role guard of the hub's edges: API endpoints and the Desk's form buttons.

Services never check roles themselves; whoever calls them from outside (an endpoint, a button) is
guarded here. `frappe.only_for` cannot be this guard: it returns early for Administrator and while
tests run, so the permission tests could not prove anything with it.
"""

import functools

import frappe
from frappe import _

from integration_hub.exceptions import OperationNotPermitted

INTEGRATION_MANAGER = "Integration Manager"  # the role every hand-run control needs


def requires_role(role: str):
	"""Decorate an edge so that it runs only for a user holding `role` (403 otherwise). Put it under
	`@endpoint()` / `@desk_action`, which turn the refusal into problem+json or the Desk's message."""

	def decorate(fn):
		@functools.wraps(fn)
		def guarded(*args, **kwargs):
			if role not in frappe.get_roles():
				raise OperationNotPermitted(_("Only an {0} may do this").format(_(role)))
			return fn(*args, **kwargs)

		return guarded

	return decorate


integration_manager_only = requires_role(INTEGRATION_MANAGER)

"""Running work as a configured user: a sync job's or an inbound endpoint's Run As, whose own
permissions then decide every read and write, as for any other user."""

from contextlib import contextmanager

import frappe
from frappe import _

from integration_hub.exceptions import ValidationFailed


@contextmanager
def running_as(user: str, owner: str):
	"""Run the block as `user`, then as the caller again, whatever happens; ValidationFailed (422)
	first when `user` does not exist or is disabled. `owner` says whose Run As it is, for the message."""
	if not user or not frappe.db.get_value("User", user, "enabled"):
		raise ValidationFailed(
			_("The Run As user {0} of {1} does not exist or is disabled").format(user or "", owner)
		)
	caller = frappe.session.user
	frappe.set_user(user)
	try:
		yield
	finally:
		frappe.set_user(caller)

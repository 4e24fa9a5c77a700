"""Handlers that apps register for inbound events, in their hooks.py:

	integration_hub_inbound_handlers = {"shop_order_paid": "my_app.webhooks.order_paid"}

A handler is called in the background job as `handler(payload, event)`: the parsed JSON body (or the
text, if the body is not JSON) and the Hub Inbound Event, as the endpoint's Run As user. It writes
what it needs through Frappe's permission-aware API; raising an exception fails the attempt.
"""

import frappe
from frappe import _

from integration_hub.exceptions import ValidationFailed

HOOK = "integration_hub_inbound_handlers"


def registered_handlers() -> dict[str, str]:
	"""Handler name -> dotted path of the function; the last app registering a name wins."""
	return {
		name: paths[-1] if isinstance(paths, list) else paths
		for name, paths in frappe.get_hooks(HOOK, {}).items()
	}


def resolve(name: str):
	path = registered_handlers().get(name or "")
	if not path:
		raise ValidationFailed(
			_("No inbound handler {0} is registered under {1} in any app's hooks.py").format(name or "", HOOK)
		)
	return load(path)


def load(path: str):
	return frappe.get_attr(path)

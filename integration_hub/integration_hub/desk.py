"""What the Desk's form buttons share: a secret shown once with a Copy button, and the hub's
operations run so that the Desk shows their errors."""

import functools

import frappe
from frappe import _

from integration_hub.exceptions import HubError


def show_secret_once(secret: str, title: str, how_to_use: str) -> None:
	"""Show a secret that is stored only hashed or encrypted: once, now, with a Copy button."""
	frappe.msgprint(
		_("Copy it now; it will not be shown again:")
		+ f'<pre class="hub-secret" style="white-space: pre-wrap; word-break: break-all">{frappe.utils.escape_html(secret)}</pre>'
		+ how_to_use,
		title=title,
		indicator="green",
		primary_action={
			"label": _("Copy"),
			"client_action": "frappe.utils.copy_to_clipboard",
			"args": secret,
		},
	)


def desk_action(fn):
	"""A form button's method: the hub's errors (which the API answers as problem+json) are shown as
	the Desk shows any error, with their message."""

	@functools.wraps(fn)
	def wrapper(*args, **kwargs):
		try:
			return fn(*args, **kwargs)
		except HubError as e:
			frappe.throw(e.detail or _(e.title), exc=type(e), title=_(e.title))

	return wrapper

"""What curated methods and reports share: their public names, and their site-wide cache of the
enabled ones (configuration, read whole and kept in Redis until one of them changes)."""

from collections.abc import Callable

import frappe
from frappe import _

PUBLIC_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
PUBLIC_NAME_LENGTH = 64


def public_name_refusal(name: str) -> str | None:
	"""Why `name` cannot be a public name (it is also part of an MCP tool's name), or None."""
	if (
		not name
		or not set(name) <= PUBLIC_NAME_CHARACTERS
		or not name[0].isalpha()
		or len(name) > PUBLIC_NAME_LENGTH
	):
		return _(
			"use lower case letters, digits and underscores, starting with a letter (at most {0})"
		).format(PUBLIC_NAME_LENGTH)
	return None


def cached_enabled(cache_key: str, doctype: str, build: Callable[[], dict]) -> dict:
	"""The enabled records of `doctype` as `build()` makes them, cached site-wide under `cache_key`."""
	value = frappe.cache.get_value(cache_key)
	if value is None:
		if not frappe.db.table_exists(doctype):  # while the app itself is being installed
			return {}
		value = build()
		frappe.cache.set_value(cache_key, value)
	return value


def clear_at_transaction_end(cache_key: str) -> None:
	"""Forget the cached value now and when the transaction ends: a value read while a change is
	uncommitted must not outlive a rollback."""

	def clear() -> None:
		frappe.cache.delete_value(cache_key)

	clear()
	frappe.db.after_commit.add(clear)
	frappe.db.after_rollback.add(clear)

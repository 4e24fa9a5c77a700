"""Scheduled tasks: each is an edge that owns its transaction. The change feed's sequencer is scheduled
directly (documents/sequencer.py), as it commits its own short transactions."""

import frappe

from integration_hub import locks
from integration_hub.documents import changes, idempotency
from integration_hub.security.oauth import tokens


def prune_idempotency_keys() -> None:
	idempotency.prune_expired_keys()
	frappe.db.commit()


def prune_change_log() -> None:
	changes.prune_change_log()
	frappe.db.commit()


def prune_key_locks() -> None:
	locks.prune_key_locks()
	frappe.db.commit()


def prune_oauth_tokens() -> None:
	tokens.prune_expired()
	frappe.db.commit()

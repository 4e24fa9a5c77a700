"""Install and migrate hooks: what the app needs on a site besides its DocTypes."""

import frappe

from integration_hub.events.subscriptions import rebuild_subscription_map
from integration_hub.security.oauth.settings import (
	DEFAULT_ACCESS_TOKEN_MINUTES,
	DEFAULT_REFRESH_TOKEN_DAYS,
	SETTINGS,
)
from integration_hub.security.roles import INTEGRATION_MANAGER

ASSISTANT_DEFAULTS = {
	"access_token_minutes": DEFAULT_ACCESS_TOKEN_MINUTES,
	"refresh_token_days": DEFAULT_REFRESH_TOKEN_DAYS,
	"allow_dynamic_registration": 1,
	"allow_metadata_documents": 1,
}


def after_install() -> None:
	ensure_roles()
	ensure_assistant_settings()
	compile_subscription_map()


def after_migrate() -> None:
	ensure_roles()
	ensure_assistant_settings()
	compile_subscription_map()


def ensure_assistant_settings() -> None:
	"""Store Hub Assistant Settings' defaults once: a Single never saved reads as empty, which would
	turn registration off and tokens' lifetimes to nothing. No role may connect assistants until an
	administrator chooses one."""
	stored = frappe.db.get_singles_dict(SETTINGS)
	for fieldname, value in ASSISTANT_DEFAULTS.items():
		if stored.get(fieldname) is None:
			frappe.db.set_single_value(SETTINGS, fieldname, value)


def compile_subscription_map() -> None:
	"""The map of active subscriptions that writers read (events/subscriptions.py), compiled afresh: a
	migration may have changed subscriptions without their controller."""
	rebuild_subscription_map()
	frappe.db.commit()  # install and migrate hooks are edges


def ensure_roles() -> None:
	if not frappe.db.exists("Role", INTEGRATION_MANAGER):
		frappe.get_doc(
			{"doctype": "Role", "role_name": INTEGRATION_MANAGER, "desk_access": 1, "is_custom": 0}
		).insert(ignore_permissions=True)


NAME_SEQUENCE_CACHE = 1000


def cache_name_sequence(doctype: str) -> None:
	"""Let an autoincrement DocType's name sequence hand out numbers from memory.

	Frappe creates these sequences with NOCACHE (a restored backup then continues without a gap), which
	makes every insert also write the sequence's row: a second write, on one row every writer shares.
	The hub's log DocTypes are written with each subscribed or exposed document change, where that
	write is a measurable part of the cost; their numbers only need to increase, so a gap after a
	restart or a restore is harmless. MariaDB only (Postgres caches per connection)."""
	if frappe.db.db_type != "mariadb":
		return
	sequence = frappe.scrub(f"{doctype}_id_seq")
	try:
		frappe.db.sql_ddl(f"alter sequence `{sequence}` cache {NAME_SEQUENCE_CACHE}")
	except Exception:
		# Galera clusters accept only NOCACHE sequences: keep Frappe's, the cache is only an optimisation.
		frappe.logger("integration_hub").warning(f"could not cache sequence {sequence}", exc_info=True)

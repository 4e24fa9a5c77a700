"""What the property-based tests of the API and of its MCP face share."""

import pytest

import frappe
from frappe.installer import update_site_config

from tests.factories import HubResourceFactory, ItemFactory, UserFactory, issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE


@pytest.fixture
def fuzz_client(committed, http):
	"""An editor's client over real HTTP, with no rate limit to hit, and two items that arbitrary input
	must leave alone."""
	committed.track(HubResourceFactory())
	for code in ("FUZZ-KEEP-1", "FUZZ-KEEP-2"):
		committed.track(ItemFactory(code=code, title="Fuzz", qty=1))
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	token = issue_api_token(editor)
	update_site_config("integration_hub_rate_limit_per_minute", 1_000_000)
	committed.commit()
	committed.on_cleanup(lambda: update_site_config("integration_hub_rate_limit_per_minute", None))
	committed.on_cleanup(lambda: frappe.db.delete("Hub Idempotency Key", {"user": editor.name}))
	return http(token)

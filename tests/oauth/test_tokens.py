"""Codes and tokens as stored: hashes only, checked in constant time, pruned a week after they expire
(in-process, within the test's transaction)."""

import pytest

import frappe

from integration_hub.security.oauth import clients, consent, tokens
from integration_hub.security.oauth.tokens import ACCESS, REFRESH, Grant


@pytest.fixture
def client():
	registered, _secret = clients.register(
		{
			"client_name": "Tested",
			"redirect_uris": ["http://127.0.0.1/cb"],
			"token_endpoint_auth_method": "none",
		}
	)
	return registered


GRANT = Grant(connection="not-a-connection", user="Administrator", scope="hub:read")


def test_a_token_is_stored_as_a_hash_and_found_only_by_its_secret(client):
	grant = GRANT
	plain = tokens.new_token(ACCESS)
	name = tokens.store(ACCESS, plain, grant, client, "http://example.invalid/mcp", 60)
	stored = frappe.db.get_value("Hub OAuth Token", name, ["token_hash", "kind"], as_dict=True)
	assert stored.kind == ACCESS and stored.token_hash.startswith("sha256$")
	assert plain.split("_", 2)[2] not in stored.token_hash
	assert tokens.find(plain, ACCESS).name == name
	assert tokens.find(plain[:-1] + ("A" if plain[-1] != "A" else "B"), ACCESS) is None, "another secret"
	assert tokens.find(plain, REFRESH) is None, "another kind"
	assert tokens.find(f"ihat_{name}", ACCESS) is None


def test_expired_codes_and_tokens_are_pruned_after_a_week(client):
	grant = GRANT
	old = tokens.store(REFRESH, tokens.new_token(REFRESH), grant, client, "http://x.invalid/mcp", -8 * 86400)
	recent = tokens.store(REFRESH, tokens.new_token(REFRESH), grant, client, "http://x.invalid/mcp", -86400)
	tokens.prune_expired()
	assert not frappe.db.exists("Hub OAuth Token", old)
	assert frappe.db.exists("Hub OAuth Token", recent), "a replay of it must still revoke"


def test_a_connection_is_not_saved_from_the_desk_or_the_api_even_by_a_manager(client):
	grant = consent.record(client, "Administrator", "http://x.invalid/mcp", consent.Choices())
	connection = frappe.get_doc("Hub Assistant Connection", grant.connection)
	connection.user = "Guest"
	with pytest.raises(frappe.PermissionError):
		connection.save()

"""Scoped API keys over real HTTP: scopes, revocation, expiry, hashing, rate limits, input limits."""

import pytest

import frappe
from frappe.installer import update_site_config
from frappe.utils import add_to_date, now_datetime

from tests.factories import HubAPIKeyFactory, HubResourceFactory, ItemFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import assert_activity_recorded, make_site_dormant, read_committed

API = "/api/method/integration_hub.api.v1"


@pytest.fixture
def keyed(committed, http):
	"""An editor, an exposed DocType, and a key for the editor scoped to read + create on it."""
	resource = committed.track(HubResourceFactory())
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	existing = committed.track(ItemFactory(code="KEY-EXISTING"))
	key = committed.track(
		HubAPIKeyFactory(
			user=editor.name, scopes=[{"resource": resource.name, "allow_read": 1, "allow_create": 1}]
		)
	)
	committed.commit()

	def remove_written():
		frappe.db.delete(ITEM, {"code": ("like", "KEY-%")})
		frappe.db.delete("Hub Change", {"ref_doctype": ITEM})

	committed.on_cleanup(remove_written)
	client = http()
	client.headers["Authorization"] = f"Bearer {key.flags.plain_token}"
	return frappe._dict(
		key=key, client=client, editor=editor, existing=existing, committed=committed, http=http
	)


def problem(response, status, code):
	assert response.status_code == status, response.text
	assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
	assert response.json()["code"] == code
	return response.json()


def test_a_key_acts_as_its_user_within_its_scopes(keyed):
	client = keyed.client
	assert client.get(f"{API}.ping").json()["message"]["user"] == keyed.editor.name
	listed = client.get(f"{API}.list_documents", params={"doctype": ITEM})
	assert listed.status_code == 200, listed.text
	created = client.post(f"{API}.upsert", json={"doctype": ITEM, "data": {"code": "KEY-NEW"}})
	assert created.json()["message"]["status"] == "created"
	named_by_rule = client.post(
		f"{API}.create_document", json={"doctype": ITEM, "data": {"code": "KEY-NEW-2"}}
	)
	assert named_by_rule.status_code == 200, named_by_rule.text
	described = client.get(f"{API}.describe", params={"doctype": ITEM}).json()["message"]
	assert described["operations"] == ["read", "create"]


@pytest.mark.parametrize(
	("method", "endpoint", "arguments"),
	[
		("post", "upsert", {"doctype": ITEM, "data": {"code": "KEY-EXISTING", "qty": 5}}),
		("post", "delete_document", {"doctype": ITEM, "name": "whatever"}),
		("get", "changes", {"doctype": ITEM}),
		("post", "bulk_upsert", {"doctype": ITEM, "records": [{"code": "KEY-EXISTING", "qty": 9}]}),
	],
)
def test_a_key_cannot_go_beyond_its_scopes(keyed, method, endpoint, arguments):
	send = getattr(keyed.client, method)
	response = send(
		f"{API}.{endpoint}", **({"json": arguments} if method == "post" else {"params": arguments})
	)
	if endpoint == "bulk_upsert":
		assert response.json()["message"]["results"][0]["error"]["code"] == "PERMISSION_DENIED"
	else:
		problem(response, 403, "PERMISSION_DENIED")
	assert read_committed(f"select qty from `tab{ITEM}` where code = 'KEY-EXISTING'")[0][0] == 1


@pytest.mark.parametrize(
	"path",
	[
		"/api/resource/User",
		f"/api/resource/{ITEM}",
		"/api/method/frappe.auth.get_logged_user",
		f"{API}.redeliver",
		f"{API}.run_now",
	],
)
def test_a_key_reaches_nothing_but_the_document_api(keyed, path):
	response = keyed.client.get(path)
	assert response.status_code == 403, response.text
	assert keyed.editor.name not in response.text


def test_revocation_and_expiry_take_effect_on_the_next_request(keyed):
	client = keyed.client
	assert client.get(f"{API}.ping").status_code == 200
	frappe.db.set_value("Hub API Key", keyed.key.name, "enabled", 0)
	keyed.committed.commit()
	problem(client.get(f"{API}.ping"), 401, "NOT_AUTHENTICATED")

	frappe.db.set_value(
		"Hub API Key", keyed.key.name, {"enabled": 1, "expires_on": add_to_date(now_datetime(), minutes=-1)}
	)
	keyed.committed.commit()
	problem(client.get(f"{API}.ping"), 401, "NOT_AUTHENTICATED")

	frappe.db.set_value("Hub API Key", keyed.key.name, "expires_on", add_to_date(now_datetime(), days=1))
	keyed.committed.commit()
	assert client.get(f"{API}.ping").status_code == 200


def test_a_resource_withdrawn_or_restored_counts_on_the_next_request(keyed):
	"""A request reads the exposure map in its rate-limit round trip to Redis (security/limits.py):
	a change of the Hub Resource still counts from the next request on."""
	client, params = keyed.client, {"doctype": ITEM, "name": keyed.existing.name}
	assert client.get(f"{API}.get_document", params=params).status_code == 200
	for enabled, status in ((0, 404), (1, 200)):
		resource = frappe.get_doc("Hub Resource", ITEM)
		resource.enabled = enabled
		resource.save()
		keyed.committed.commit()
		response = client.get(f"{API}.get_document", params=params)
		assert response.status_code == status, response.text
		if status == 404:
			problem(response, 404, "RESOURCE_NOT_EXPOSED")


def test_a_wrong_secret_or_unknown_key_is_401(keyed):
	prefix = keyed.key.prefix
	for token in (f"ihk_{prefix}_wrong-secret", "ihk_000000000000_secret", f"ihk_{prefix}_", "ihk_"):
		client = keyed.http()
		client.headers["Authorization"] = f"Bearer {token}"
		assert client.get(f"{API}.ping").status_code == 401, token


def test_the_secret_is_stored_only_as_a_salted_hash(keyed):
	token = keyed.key.flags.plain_token
	secret = token.split("_", 2)[2]
	stored = read_committed("select secret_hash from `tabHub API Key` where name = %s", (keyed.key.name,))[0][
		0
	]
	assert stored.startswith("sha256$") and secret not in stored
	other = HubAPIKeyFactory(user=keyed.editor.name)
	assert other.secret_hash.split("$")[1] != stored.split("$")[1], "every key has its own salt"
	for table in ("tabVersion", "tabError Log", "tabHub API Key"):
		assert not frappe.db.sql(
			f"select 1 from `{table}` where {_any_column_like(table)}", {"s": f"%{secret}%"}
		)


def _any_column_like(table: str) -> str:
	columns = [c for c in frappe.db.get_table_columns(table[3:]) if c not in ("idx", "docstatus")]
	return " or ".join(f"`{c}` like %(s)s" for c in columns)


def test_rotation_replaces_the_secret(keyed):
	old_token = keyed.key.flags.plain_token
	key = frappe.get_doc("Hub API Key", keyed.key.name)
	new_token = key.rotate_secret()
	keyed.committed.commit()
	assert new_token.startswith(f"ihk_{key.prefix}_") and new_token != old_token
	client = keyed.http()
	client.headers["Authorization"] = f"Bearer {new_token}"
	assert client.get(f"{API}.ping").status_code == 200
	problem(keyed.client.get(f"{API}.ping"), 401, "NOT_AUTHENTICATED")


def test_last_use_is_recorded(keyed):
	keyed.client.get(f"{API}.ping")
	used_at, ip = read_committed(
		"select last_used_at, last_used_ip from `tabHub API Key` where name = %s", (keyed.key.name,)
	)[0]
	assert used_at is not None and ip == "127.0.0.1"


def test_the_rate_limit_answers_429_with_retry_after_and_does_nothing(keyed):
	frappe.db.set_value("Hub API Key", keyed.key.name, "rate_limit_per_minute", 3)
	keyed.committed.commit()
	statuses = [keyed.client.get(f"{API}.ping").status_code for _ in range(3)]
	assert statuses == [200, 200, 200]
	refused = keyed.client.post(f"{API}.upsert", json={"doctype": ITEM, "data": {"code": "KEY-LIMITED"}})
	body = problem(refused, 429, "RATE_LIMITED")
	assert 1 <= int(refused.headers["Retry-After"]) <= 60
	assert "Retry-After" not in body
	assert read_committed(f"select count(*) from `tab{ITEM}` where code = 'KEY-LIMITED'")[0][0] == 0


def test_oversized_and_overdeep_requests_are_refused_before_anything_runs(keyed, site):
	update_site_config("integration_hub_max_request_bytes", 2000)
	keyed.committed.on_cleanup(lambda: update_site_config("integration_hub_max_request_bytes", None))
	big = {"doctype": ITEM, "data": {"code": "KEY-BIG", "notes": "x" * 3000}}
	problem(keyed.client.post(f"{API}.upsert", json=big), 413, "PAYLOAD_TOO_LARGE")

	deep: object = "bottom"
	for _level in range(40):
		deep = {"nested": deep}
	problem(keyed.client.post(f"{API}.upsert", json={"doctype": ITEM, "data": deep}), 400, "BAD_REQUEST")
	assert read_committed(f"select count(*) from `tab{ITEM}` where code = 'KEY-BIG'")[0][0] == 0


def test_frappe_token_authentication_still_works_beside_keys(keyed, committed, http):
	from tests.factories import issue_api_token

	user = committed.track(UserFactory())
	token = issue_api_token(user)
	committed.commit()
	response = http(token).get(f"{API}.ping")
	assert response.status_code == 200 and response.json()["message"]["user"] == user.name


def test_api_traffic_keeps_an_api_only_site_awake(keyed, monkeypatch):
	from frappe.utils.scheduler import is_dormant

	from integration_hub.security.limits import API_ACTIVITY_CACHE_KEY

	frappe.db.delete("Activity Log")
	make_site_dormant(monkeypatch)
	frappe.cache.delete_value(API_ACTIVITY_CACHE_KEY)
	keyed.committed.commit()
	assert is_dormant(), "a site without activity is dormant to Frappe's scheduler"
	assert keyed.client.get(f"{API}.ping").status_code == 200
	assert_activity_recorded("API traffic", keyed.editor.name)
	assert not is_dormant()
	frappe.db.commit()
	assert read_committed("select count(*) from `tabActivity Log`")[0][0] == 1


def test_a_refused_request_gives_back_only_the_activity_claim_it_made(keyed):
	"""The marker is claimed in the rate-limit round trip: a request refused with 429 after claiming it
	gives it back (the next request notes the traffic); one that found it claimed leaves it."""
	from integration_hub.security.limits import API_ACTIVITY_CACHE_KEY

	marker = frappe.cache.make_key(API_ACTIVITY_CACHE_KEY)
	frappe.db.set_value("Hub API Key", keyed.key.name, "rate_limit_per_minute", 1)
	keyed.committed.commit()
	assert keyed.client.get(f"{API}.ping").status_code == 200  # the minute's one request
	frappe.cache.set(marker, 1, ex=600)
	problem(keyed.client.get(f"{API}.ping"), 429, "RATE_LIMITED")
	assert frappe.cache.get(marker), "a refused request that did not claim the marker leaves it"
	frappe.cache.delete(marker)
	problem(keyed.client.get(f"{API}.ping"), 429, "RATE_LIMITED")
	assert not frappe.cache.get(marker), "a refused request that claimed the marker gives it back"


def test_the_changes_scope_opens_the_change_feed(keyed):
	frappe.db.set_value("Hub API Key Scope", {"parent": keyed.key.name}, "allow_changes", 1)
	keyed.committed.commit()
	response = keyed.client.get(f"{API}.changes", params={"doctype": ITEM})
	assert response.status_code == 200, response.text
	assert keyed.existing.name in {entry["name"] for entry in response.json()["message"]["changes"]}

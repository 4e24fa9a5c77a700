"""Sync between two real sites on this bench: the test site and a second site served by gunicorn on
127.0.0.1 (tests/remote_site.py). The second site runs integration_hub and exposes `Hub Test Item`
(read through its change feed, written through bulk_upsert); its `Hub Plain Item` is not exposed, so
it is reached as on a Frappe site without the app, through /api/resource."""

import json

import pytest

import frappe

from tests.factories import (
	HubConnectionFactory,
	HubResourceFactory,
	HubSyncJobFactory,
	ItemFactory,
	UserFactory,
)
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.remote_site import PLAIN_ITEM, remote_site
from tests.sync.support import counts, local_items, run, saved_cursor

API = "/api/method/integration_hub.api.v1"


@pytest.fixture(scope="session")
def remote(site):
	with remote_site() as second_site:
		yield second_site


class RemoteData:
	"""The second site's data, reached over HTTP as its Administrator."""

	def __init__(self, remote, prefix: str) -> None:
		self.base_url = remote.base_url
		self.session = remote.session()
		self.prefix = prefix

	def call(self, http: str, path: str, **kwargs) -> dict:
		response = self.session.request(http, f"{self.base_url}{path}", timeout=60, **kwargs)
		assert response.status_code < 400, response.text
		return response.json()

	def put(self, *records: dict) -> None:
		body = {
			"doctype": ITEM,
			"records": [dict(r, code=self.prefix + r["code"]) for r in records],
			"key": ["code"],
		}
		results = self.call("POST", f"{API}.bulk_upsert", json=body)["message"]["results"]
		assert all(r["status"] != "failed" for r in results), results

	def items(self) -> dict[str, dict]:
		params = {
			"doctype": ITEM,
			"fields": json.dumps(["code", "title", "qty"]),
			"filters": json.dumps([["code", "like", f"{self.prefix}%"]]),
			"limit": 1000,
		}
		rows = self.call("GET", f"{API}.list_documents", params=params)["message"]["data"]
		return {row["code"]: {"title": row["title"], "qty": row["qty"]} for row in rows}

	def delete(self, code: str) -> None:
		self.call(
			"POST", f"{API}.delete_document", json={"doctype": ITEM, "key": {"code": self.prefix + code}}
		)

	def plain_items(self) -> dict[str, dict]:
		params = {
			"fields": json.dumps(["name", "modified", "code", "title", "qty"]),
			"filters": json.dumps([["code", "like", f"{self.prefix}%"]]),
			"limit_page_length": 1000,
		}
		rows = self.call("GET", f"/api/resource/{PLAIN_ITEM}", params=params)["data"]
		return {row["code"]: row for row in rows}

	def put_plain(self, code: str, **values) -> None:
		existing = self.plain_items().get(self.prefix + code)
		if existing:
			self.call("PUT", f"/api/resource/{PLAIN_ITEM}/{existing['name']}", json=values)
		else:
			self.call("POST", f"/api/resource/{PLAIN_ITEM}", json={"code": self.prefix + code, **values})

	def change_count(self) -> int:
		params = {"doctype": "Hub Change", "filters": json.dumps([["ref_doctype", "=", ITEM]])}
		return self.call("GET", "/api/method/frappe.client.get_count", params=params)["message"]

	def clear(self) -> None:
		for code in self.items():
			self.delete(code.removeprefix(self.prefix))
		for row in self.plain_items().values():
			self.call("DELETE", f"/api/resource/{PLAIN_ITEM}/{row['name']}")


@pytest.fixture
def prefix():
	return f"SYN-{frappe.generate_hash(length=6)}-"


@pytest.fixture
def remote_data(remote, prefix):
	data = RemoteData(remote, prefix)
	yield data
	data.clear()


@pytest.fixture
def connection(remote):
	key, secret = remote.sync_token.split(":")
	return HubConnectionFactory(base_url=remote.base_url, auth_type="Token", api_key=key, api_secret=secret)


@pytest.fixture
def editor():
	return UserFactory(roles=[EDITOR_ROLE])


def as_local(items: dict, prefix: str) -> dict:
	return {code: {"title": row.title, "qty": row.qty} for code, row in items.items()}


# --- the connection ---------------------------------------------------------------------------------


def test_the_connection_test_reports_the_remote_version_and_integration_hub(connection, remote):
	result = connection.test_connection()

	assert result["test_status"] == "OK", result.get("test_message")
	assert result["remote_has_integration_hub"] == 1
	assert result["remote_user"] == "remote-sync@example.com"
	assert result["remote_version"] == frappe.__version__
	assert "change feed" in result["test_message"]
	assert frappe.db.get_value("Hub Connection", connection.name, "test_status") == "OK"


def test_the_connection_test_reports_refused_credentials(remote):
	key, _secret = remote.sync_token.split(":")
	connection = HubConnectionFactory(
		base_url=remote.base_url, auth_type="Token", api_key=key, api_secret="wrong"
	)

	result = connection.test_connection()

	assert result["test_status"] == "Failed"
	assert "401" in result["test_message"] or "403" in result["test_message"]


# --- pulling from a remote integration_hub --------------------------------------------------------


def test_pull_copies_everything_then_only_changes_and_deletions(remote_data, connection, editor, prefix):
	remote_data.put(*({"code": f"{i}", "title": f"Remote {i}", "qty": i} for i in range(1, 6)))
	job = HubSyncJobFactory(connection=connection.name, run_as=editor.name, batch_size=2)

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	assert (first.records_read, first.created_count) == (5, 5)
	assert as_local(local_items(prefix), prefix) == remote_data.items()
	assert saved_cursor(job.name)["kind"] == "feed"

	remote_data.put(
		{"code": "2", "title": "Remote two", "qty": 22}, {"code": "6", "title": "Remote 6", "qty": 6}
	)
	remote_data.delete("3")
	second = run(job.name)

	assert second.failed_count == 0, second.record_errors
	assert counts(second) == {
		"read": 3, "created": 1, "updated": 1, "unchanged": 0, "deleted": 1, "skipped": 0, "failed": 0, "pushed": 0,
	}  # fmt: skip
	assert as_local(local_items(prefix), prefix) == remote_data.items()
	assert f"{prefix}3" not in local_items(prefix)

	third = run(job.name)
	assert (third.records_read, third.status) == (0, "Succeeded"), "nothing changed since"


def test_a_remote_deletion_can_disable_the_local_copy_instead(remote_data, connection, prefix):
	remote_data.put({"code": "1", "title": "One", "qty": 1}, {"code": "2", "title": "Two", "qty": 2})
	job = HubSyncJobFactory(
		connection=connection.name,
		on_remote_delete="Disable",
		disable_field="status",
		disable_value="Retired",
	)
	run(job.name)

	remote_data.delete("1")
	second = run(job.name)

	assert second.deleted_count == 1
	items = local_items(prefix)
	assert (items[f"{prefix}1"].status, items[f"{prefix}2"].status) == ("Retired", "Draft")


def test_full_resync_after_reset_cursor_rereads_everything_without_writing(
	remote_data, connection, prefix, api
):
	remote_data.put(*({"code": f"{i}", "title": f"Remote {i}", "qty": i} for i in range(1, 4)))
	job = HubSyncJobFactory(connection=connection.name)
	run(job.name)

	status, body = api("reset_cursor", job=job.name)
	assert status == 200, body
	assert saved_cursor(job.name) == {}
	resync = run(job.name)

	assert (resync.records_read, resync.unchanged_count, resync.created_count) == (3, 3, 0)


# --- a Frappe remote without integration_hub (/api/resource) ---------------------------------------


def test_pull_from_plain_frappe_reads_by_modified_up_to_a_high_water_mark(remote_data, connection, prefix):
	for i in range(1, 6):
		remote_data.put_plain(f"{i}", title=f"Plain {i}", qty=i)
	job = HubSyncJobFactory(connection=connection.name, remote_resource=PLAIN_ITEM, batch_size=2)

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	assert (first.records_read, first.created_count) == (5, 5)
	cursor = saved_cursor(job.name)
	newest = max(remote_data.plain_items().values(), key=lambda row: (row["modified"], row["name"]))
	assert (cursor["kind"], cursor["modified"], cursor["name"]) == (
		"modified",
		newest["modified"],
		newest["name"],
	)

	remote_data.put_plain("2", title="Plain two")
	second = run(job.name)
	assert (second.records_read, second.updated_count) == (1, 1)
	assert local_items(prefix)[f"{prefix}2"].title == "Plain two"


def test_plain_frappe_look_back_rereads_recent_records_without_writing_them(remote_data, connection, prefix):
	for i in range(1, 4):
		remote_data.put_plain(f"{i}", title=f"Plain {i}", qty=i)
	job = HubSyncJobFactory(connection=connection.name, remote_resource=PLAIN_ITEM, lookback_seconds=3600)
	run(job.name)
	cursor = saved_cursor(job.name)

	again = run(job.name)

	assert (again.records_read, again.unchanged_count, again.created_count + again.updated_count) == (3, 3, 0)
	assert saved_cursor(job.name) == cursor, "the look-back never moves the saved cursor back"


def test_push_to_plain_frappe(remote_data, connection, prefix):
	HubResourceFactory()
	for i in range(1, 4):
		ItemFactory(code=f"{prefix}{i}", title=f"Local {i}", qty=i)
	job = HubSyncJobFactory(connection=connection.name, direction="Push", remote_resource=PLAIN_ITEM)

	first = run(job.name)

	assert (first.pushed_count, first.created_count) == (3, 3), first.error
	assert {code: row["title"] for code, row in remote_data.plain_items().items()} == {
		f"{prefix}{i}": f"Local {i}" for i in range(1, 4)
	}


# --- pushing to a remote integration_hub -------------------------------------------------------------


def test_push_sends_everything_then_only_changes_and_deletions(remote_data, connection, editor, prefix):
	HubResourceFactory()
	items = [ItemFactory(code=f"{prefix}{i}", title=f"Local {i}", qty=i) for i in range(1, 6)]
	job = HubSyncJobFactory(connection=connection.name, direction="Push", run_as=editor.name, batch_size=2)

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	assert (first.pushed_count, first.created_count) == (5, 5)
	assert remote_data.items() == as_local(local_items(prefix), prefix)

	items[1].title = "Local two"
	items[1].save()
	frappe.delete_doc(ITEM, items[2].name)
	second = run(job.name)

	assert (second.records_read, second.pushed_count, second.updated_count, second.deleted_count) == (
		2,
		1,
		1,
		1,
	)
	assert remote_data.items() == as_local(local_items(prefix), prefix)
	assert f"{prefix}3" not in remote_data.items()


# --- both ways: convergence without echoes ------------------------------------------------------------


def writes(sync_run) -> int:
	return sync_run.created_count + sync_run.updated_count + sync_run.deleted_count


def settle(pull, push, first: str = "pull") -> int:
	"""Run the pair until a round writes nothing on either side; the number of rounds."""
	order = [pull, push] if first == "pull" else [push, pull]
	for rounds in range(1, 6):
		results = [run(job.name) for job in order]
		assert all(r.status == "Succeeded" for r in results), [r.error or r.record_errors for r in results]
		if not any(writes(r) for r in results):
			return rounds
	raise AssertionError("the two sites did not converge")


@pytest.mark.parametrize("first", ["pull", "push"])
@pytest.mark.parametrize(
	"policy, edited_last, winner",
	[
		("remote_wins", "local", "remote"),
		("local_wins", "remote", "local"),
		("newest_wins", "remote", "remote"),
		("newest_wins", "local", "local"),
	],
)
def test_pull_and_push_converge_without_echo(
	remote_data, connection, prefix, policy, edited_last, winner, first
):
	HubResourceFactory()
	remote_data.put(
		{"code": "R1", "title": "Remote one", "qty": 1}, {"code": "R2", "title": "Remote two", "qty": 2}
	)
	ItemFactory(code=f"{prefix}L1", title="Local one", qty=3)
	pull = HubSyncJobFactory(connection=connection.name, conflict_policy=policy)
	push = HubSyncJobFactory(connection=connection.name, conflict_policy=policy, direction="Push")

	settle(pull, push)
	assert as_local(local_items(prefix), prefix) == remote_data.items()
	assert len(remote_data.items()) == 3

	local_r1 = frappe.get_doc(ITEM, {"code": f"{prefix}R1"})

	def edit_local():
		local_r1.title = "Edited here"
		local_r1.save()

	def edit_remote():
		remote_data.put({"code": "R1", "title": "Edited there", "qty": 1})

	for edit in (edit_remote, edit_local) if edited_last == "local" else (edit_local, edit_remote):
		edit()
	settle(pull, push, first=first)

	expected = "Edited here" if winner == "local" else "Edited there"
	assert local_items(prefix)[f"{prefix}R1"].title == expected
	assert remote_data.items()[f"{prefix}R1"]["title"] == expected
	assert as_local(local_items(prefix), prefix) == remote_data.items()

	remote_changes = remote_data.change_count()
	again = [run(pull.name), run(push.name), run(pull.name)]
	assert [writes(r) for r in again] == [0, 0, 0], "no echo: nothing travels back and forth"
	assert remote_data.change_count() == remote_changes, "the remote was not written again"

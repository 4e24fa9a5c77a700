"""The change feed: snapshot then log, deletions, permissions, and no change ever skipped."""

import os
import random
import threading
import time

import pytest

import frappe

from tests.factories import (
	CategoryFactory,
	HubResourceFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
	issue_api_token,
)
from tests.fixtures_doctypes import AUDITOR_ROLE, ITEM, READER_ROLE


def follow(api, cursor=None, limit=50, max_pages=500):
	"""Follow next_cursor until the feed has nothing more; return (entries, last cursor)."""
	entries = []
	for _page in range(max_pages):
		status, body = api("changes", doctype=ITEM, cursor=cursor, limit=limit)
		assert status == 200, body
		page = body["message"]
		entries.extend(page["changes"])
		cursor = page["next_cursor"]
		if not page["has_more"]:
			return entries, cursor
	raise AssertionError("the feed did not end")


def test_snapshot_then_log_with_updates_and_deletions(api):
	HubResourceFactory()
	before = [ItemFactory(code=f"FEED-{i}") for i in range(5)]
	entries, cursor = follow(api, limit=2)
	assert {e["name"] for e in entries} >= {i.name for i in before}
	assert all(e["op"] == "upsert" and e["doc"]["name"] == e["name"] for e in entries)

	assert follow(api, cursor)[0] == []

	before[0].title = "changed"
	before[0].save()
	frappe.delete_doc(ITEM, before[1].name)
	created = ItemFactory(code="FEED-NEW")
	entries, cursor = follow(api, cursor)
	assert [(e["op"], e["name"]) for e in entries] == [
		("upsert", before[0].name),
		("delete", before[1].name),
		("upsert", created.name),
	]
	assert entries[0]["doc"]["title"] == "changed"
	assert "doc" not in entries[1]


def test_only_the_latest_state_of_a_document_per_page(api):
	HubResourceFactory()
	_entries, cursor = follow(api)
	item = ItemFactory(code="LATEST")
	for qty in (2, 3, 4):
		item.qty = qty
		item.save()
	entries, _cursor = follow(api, cursor)
	assert [(e["name"], e["doc"]["qty"]) for e in entries] == [(item.name, 4)]


def test_feed_respects_user_permissions_and_permlevels(api, as_user):
	HubResourceFactory()
	mine, theirs = CategoryFactory(), CategoryFactory()
	reader = UserFactory(roles=[READER_ROLE])
	UserPermissionFactory(user=reader.name, for_value=mine.name)
	visible = ItemFactory(category=mine.name, cost=10)
	hidden = ItemFactory(category=theirs.name, cost=20)
	with as_user(reader.name):
		snapshot, cursor = follow(api)
	assert [e["name"] for e in snapshot] == [visible.name]
	assert "cost" not in snapshot[0]["doc"]

	frappe.delete_doc(ITEM, hidden.name)
	frappe.delete_doc(ITEM, visible.name)
	with as_user(reader.name):
		entries, _cursor = follow(api, cursor)
	assert [(e["op"], e["name"]) for e in entries] == [("delete", visible.name)]

	auditor = UserFactory(roles=[AUDITOR_ROLE])
	shown = ItemFactory(category=mine.name, cost=30)
	with as_user(auditor.name):
		snapshot, _cursor = follow(api)
	assert {e["name"]: e["doc"]["cost"] for e in snapshot}[shown.name] == 30


def test_feed_refuses_users_without_permission_and_tampered_cursors(api, as_user):
	HubResourceFactory()
	ItemFactory()
	status, body = api("changes", doctype=ITEM, limit=1)
	cursor = body["message"]["next_cursor"]
	outsider = UserFactory(roles=[])
	with as_user(outsider.name):
		assert api("changes", doctype=ITEM)[1]["code"] == "PERMISSION_DENIED"
	reader = UserFactory(roles=[READER_ROLE])
	with as_user(reader.name):
		status, body = api("changes", doctype=ITEM, cursor=cursor)
	assert (status, body["code"]) == (400, "INVALID_CURSOR"), "a cursor is bound to its user"
	status, body = api("changes", doctype=ITEM, cursor=cursor[:-3] + "AAA")
	assert (status, body["code"]) == (400, "INVALID_CURSOR")


# --- concurrency: real commits, two and more connections --------------------------------------


class Writer(threading.Thread):
	"""A writer with its own Frappe context and database connection."""

	def __init__(self, site: str, codes: list[str], hold: threading.Event | None = None, jitter: float = 0):
		super().__init__(daemon=True)
		self.site, self.codes, self.hold, self.jitter = site, codes, hold, jitter
		self.inserted: list[str] = []
		self.ready = threading.Event()
		self.error: BaseException | None = None

	def run(self) -> None:
		try:
			frappe.init(site=self.site, sites_path=os.getcwd())
			frappe.connect()
			frappe.set_user("Administrator")
			for code in self.codes:
				self.inserted.append(
					frappe.get_doc({"doctype": ITEM, "code": code, "title": code}).insert().name
				)
				if self.hold:
					self.ready.set()
					self.hold.wait(30)
				if self.jitter:
					time.sleep(random.uniform(0, self.jitter))
				frappe.db.commit()
		except BaseException as e:
			self.error = e
			frappe.db.rollback()
		finally:
			self.ready.set()
			frappe.destroy()


@pytest.fixture
def feed_over_http(committed, http, site):
	resource = committed.track(HubResourceFactory())
	reader = committed.track(UserFactory(roles=[READER_ROLE]))
	token = issue_api_token(reader)
	committed.commit()

	def remove_written_items():
		frappe.db.delete(ITEM, {"code": ("like", "CONC-%")})
		frappe.db.delete("Hub Change", {"ref_doctype": ITEM})

	committed.on_cleanup(remove_written_items)
	client = http(token)

	def read(cursor=None):
		response = client.get(
			"/api/method/integration_hub.api.v1.changes",
			params={"doctype": ITEM, "cursor": cursor or "", "limit": 7},
		)
		assert response.status_code == 200, response.text
		return response.json()["message"]

	return resource, read


def test_a_change_committed_late_is_not_skipped(feed_over_http, site):
	_resource, read = feed_over_http
	cursor = read()["next_cursor"]
	while (page := read(cursor))["has_more"]:
		cursor = page["next_cursor"]
	cursor = page["next_cursor"]

	release = threading.Event()
	slow = Writer(site, ["CONC-SLOW"], hold=release)  # inserts first, commits last
	slow.start()
	assert slow.ready.wait(30)
	fast = Writer(site, ["CONC-FAST"])
	fast.start()
	fast.join(30)
	assert fast.error is None

	page = read(cursor)
	assert [e["doc"]["code"] for e in page["changes"]] == ["CONC-FAST"]
	cursor = page["next_cursor"]

	release.set()
	slow.join(30)
	assert slow.error is None
	page = read(cursor)
	assert [e["doc"]["code"] for e in page["changes"]] == ["CONC-SLOW"], (
		"a change committed after a later one was read must still appear"
	)


def test_concurrent_writers_never_lose_a_change(feed_over_http, site):
	_resource, read = feed_over_http
	cursor = None
	while True:
		page = read(cursor)
		cursor = page["next_cursor"]
		if not page["has_more"]:
			break

	writers = [Writer(site, [f"CONC-{w}-{i}" for i in range(15)], jitter=0.02) for w in range(3)]
	for writer in writers:
		writer.start()
	seen: set[str] = set()
	deadline = time.monotonic() + 120
	while any(w.is_alive() for w in writers) and time.monotonic() < deadline:
		page = read(cursor)
		seen.update(e["name"] for e in page["changes"])
		cursor = page["next_cursor"]
	for writer in writers:
		writer.join(30)
		assert writer.error is None, writer.error
	while True:
		page = read(cursor)
		seen.update(e["name"] for e in page["changes"])
		cursor = page["next_cursor"]
		if not page["has_more"]:
			break
	written = {name for writer in writers for name in writer.inserted}
	assert len(written) == 45
	assert written <= seen

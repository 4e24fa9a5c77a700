"""Promise: every committed change reaches the change feed.

A reader follows `changes` (its cursor, page after page) while 6 writers commit 1,000 changes
(creations, updates, deletions) through gunicorn. Each document is written by one writer only, its
`qty` counting its versions, so the feed must never show a document going back to an earlier version.
When the writers are done, the reader's replay of the feed must equal the database: every document's
final version, and every deleted document seen as a deletion. 0 changes missed."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import frappe

from tests.fixtures_doctypes import ITEM
from tests.helpers import read_committed
from tests.production.support import API, remove_written, state_figure

WRITERS = 6
CHANGES = 1000
DELETE_SHARE = 0.15
FOLLOW_TIMEOUT = 180


class Reader:
	"""Follows the feed in a thread: `state` is the replay (name -> ("upsert", qty) or ("delete",))."""

	def __init__(self, hub, prefix: str) -> None:
		self.http = hub.client()
		self.prefix = prefix
		self.state: dict[str, tuple] = {}
		self.backwards: list[str] = []
		self.pages = 0
		self.errors: list[str] = []
		self.writers_done = threading.Event()
		self.caught_up = threading.Event()
		self.cursor = self._catch_up(None)

	def _page(self, cursor):
		response = self.http.get(
			f"{API}.changes", params={"doctype": ITEM, "limit": 200, **({"cursor": cursor} if cursor else {})}
		)
		if response.status_code != 200:
			self.errors.append(f"{response.status_code} {response.text[:200]}")
			time.sleep(0.2)
			return cursor, True
		page = response.json()["message"]
		self.pages += 1
		for entry in page["changes"]:
			self._apply(entry)
		return page["next_cursor"], page["has_more"]

	def _apply(self, entry: dict) -> None:
		name = entry["name"]
		if entry["op"] == "delete":
			self.state[name] = ("delete",)
			return
		doc = entry["doc"]
		if not str(doc.get("code") or "").startswith(self.prefix):
			return
		previous = self.state.get(name)
		if previous and previous[0] == "upsert" and previous[1] > doc["qty"]:
			self.backwards.append(f"{name}: {previous[1]} then {doc['qty']}")
		self.state[name] = ("upsert", doc["qty"])

	def _catch_up(self, cursor):
		deadline = time.monotonic() + FOLLOW_TIMEOUT
		while time.monotonic() < deadline:
			cursor, more = self._page(cursor)
			if not more:
				return cursor
		raise AssertionError("the feed did not end")

	def follow(self) -> None:
		deadline = time.monotonic() + FOLLOW_TIMEOUT
		while time.monotonic() < deadline:
			finished = self.writers_done.is_set()  # before the read: the read then sees every write
			self.cursor, more = self._page(self.cursor)
			if finished and not more:
				self.caught_up.set()
				return
			if not more:
				time.sleep(0.05)


def test_a_reader_following_the_feed_misses_no_change_of_six_writers(hub, committed):
	prefix = f"P2-{frappe.generate_hash(length=6)}-"
	committed.on_cleanup(lambda: remove_written(ITEM, "code", prefix))
	reader = Reader(hub, prefix)
	follower = threading.Thread(target=reader.follow, daemon=True)
	follower.start()
	shares = [CHANGES // WRITERS + (1 if n < CHANGES % WRITERS else 0) for n in range(WRITERS)]
	started = time.monotonic()
	with ThreadPoolExecutor(WRITERS) as pool:
		results = list(pool.map(lambda n: write(hub, prefix, n, shares[n]), range(WRITERS)))
	writing = time.monotonic() - started
	reader.writers_done.set()
	follower.join(FOLLOW_TIMEOUT + 10)

	failed = [failure for _names, failures in results for failure in failures]
	names = {name for names, _failures in results for name in names}
	final = {
		name: ("upsert", qty)
		for name, qty in read_committed(
			f"select name, qty from `tab{ITEM}` where code like %s", (f"{prefix}%",)
		)
	}
	expected = {name: final.get(name, ("delete",)) for name in names}
	missed = sorted(name for name, state in expected.items() if reader.state.get(name) != state)
	deleted = sum(1 for state in expected.values() if state == ("delete",))
	state_figure(
		f"[2] change feed: {CHANGES} changes by {WRITERS} writers in {writing:.0f} s ({len(names)} documents, "
		f"{deleted} deleted), followed in {reader.pages} pages: {len(missed)} of {len(expected)} final states "
		f"missed, {len(reader.backwards)} documents seen going back, {len(failed)} writes failed"
	)
	assert not failed, failed[:5]
	assert reader.caught_up.is_set(), f"the reader did not catch up: {reader.errors[:3]}"
	assert not reader.errors, reader.errors[:3]
	assert not missed, [(name, expected[name], reader.state.get(name)) for name in missed[:10]]
	assert not reader.backwards, reader.backwards[:10]


def write(hub, prefix: str, writer: int, changes: int) -> tuple[set[str], list[str]]:
	"""`changes` committed changes to this writer's own documents, by key: create, update (qty + 1),
	delete. Returns the names of the documents it created, and its failed writes."""
	choose = random.Random(writer)
	live: dict[str, list] = {}  # code -> [name, qty]
	names, failures = set(), []
	with hub.client() as http:
		for n in range(changes):
			roll = choose.random()
			if not live or roll < 0.3:
				code = f"{prefix}{writer}-{n}"
				response = http.post(
					f"{API}.upsert", json={"doctype": ITEM, "data": {"code": code, "qty": 1}}
				)
				if response.status_code == 200:
					live[code] = [response.json()["message"]["name"], 1]
					names.add(live[code][0])
			elif roll < 0.3 + DELETE_SHARE:
				code = choose.choice(sorted(live))
				response = http.post(f"{API}.delete_document", json={"doctype": ITEM, "key": {"code": code}})
				if response.status_code == 200:
					del live[code]
			else:
				code = choose.choice(sorted(live))
				data = {"code": code, "qty": live[code][1] + 1}
				response = http.post(f"{API}.upsert", json={"doctype": ITEM, "data": data})
				if response.status_code == 200:
					live[code][1] += 1
			if response.status_code != 200:
				failures.append(f"{response.status_code} {response.text[:200]}")
	return names, failures

"""Upserts of one natural key from concurrent clients, through a real web server with two workers: one
document, and every caller answered 200 — for a key field without a unique index too."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import frappe

from tests.factories import HubResourceFactory, ItemFactory, UserFactory, issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import read_committed

API = "/api/method/integration_hub.api.v1"
CLIENTS = 8


@pytest.fixture
def title_keyed_client(committed, http):
	"""Hub Test Item keyed by `title`, which has no unique index: only the hub's key lock can keep two
	concurrent creations of one title apart."""
	committed.track(HubResourceFactory(key_fields="title", max_batch_size=100))
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	token = issue_api_token(editor)
	committed.commit()
	committed.on_cleanup(lambda: frappe.db.delete(ITEM, {"code": ("like", "CONC-%")}))
	return lambda: http(token)


def titled(title: str) -> int:
	return read_committed(f"select count(*) from `tab{ITEM}` where title = %s", (title,))[0][0]


def upsert_at_once(make_client, records: list[dict]) -> list:
	clients = [make_client() for _record in records]
	with ThreadPoolExecutor(len(records)) as pool:
		return list(
			pool.map(
				lambda pair: pair[0].post(f"{API}.upsert", json={"doctype": ITEM, "data": pair[1]}),
				zip(clients, records, strict=True),
			)
		)


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_upserts_of_a_new_key_create_one_document(title_keyed_client, round_):
	title = f"concurrent {round_} {frappe.generate_hash(length=6)}"
	records = [{"title": title, "code": f"CONC-{round_}-{n}", "qty": n} for n in range(CLIENTS)]
	responses = upsert_at_once(title_keyed_client, records)
	assert [r.status_code for r in responses] == [200] * CLIENTS, [r.text for r in responses]
	statuses = sorted(r.json()["message"]["status"] for r in responses)
	assert statuses.count("created") == 1, statuses
	assert set(statuses) <= {"created", "updated", "unchanged"}
	assert titled(title) == 1


def test_concurrent_updates_of_one_document_all_succeed(committed, title_keyed_client):
	item = committed.track(ItemFactory(title="updated by everyone", code="CONC-U"))
	committed.commit()
	records = [{"title": "updated by everyone", "qty": n} for n in range(CLIENTS)]
	responses = upsert_at_once(title_keyed_client, records)
	assert [r.status_code for r in responses] == [200] * CLIENTS, [r.text for r in responses]
	assert {r.json()["message"]["name"] for r in responses} == {item.name}
	assert titled("updated by everyone") == 1


def test_concurrent_bulk_upserts_of_overlapping_keys_create_each_once(title_keyed_client):
	titles = [f"bulk {n} {frappe.generate_hash(length=6)}" for n in range(20)]
	clients = [title_keyed_client() for _client in range(4)]

	def send(index_and_client):
		index, client = index_and_client
		order = titles if index % 2 == 0 else list(reversed(titles))  # opposite orders: no deadlock
		records = [{"title": t, "code": f"CONC-B-{index}-{n}"} for n, t in enumerate(order)]
		return client.post(f"{API}.bulk_upsert", json={"doctype": ITEM, "records": records})

	with ThreadPoolExecutor(len(clients)) as pool:
		responses = list(pool.map(send, enumerate(clients)))
	assert [r.status_code for r in responses] == [200] * len(clients), [r.text for r in responses]
	for response in responses:
		assert {r["status"] for r in response.json()["message"]["results"]} <= {
			"created",
			"updated",
			"unchanged",
		}
	assert [titled(t) for t in titles] == [1] * len(titles)

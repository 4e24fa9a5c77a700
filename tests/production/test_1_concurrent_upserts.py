"""Promise: an upsert never duplicates a document, however many clients write one key at once.

8 clients (threads, each its own HTTP connection, released together) send 100 upserts each over 40
shared keys, through gunicorn with 2 workers: exactly 40 documents, no 5xx, and every answer 200 with
`created`, `updated` or `unchanged`. Once on a DocType whose key field has no unique index (only the
hub's write engine can keep it to one document), once on one with a unique index (where the database
refuses a duplicate, and the caller must still get an answer, not an error)."""

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

import frappe

from tests.fixtures_doctypes import ITEM
from tests.helpers import read_committed
from tests.production.support import API, NOTE, remove_written, state_figure

CLIENTS = 8
UPSERTS_PER_CLIENT = 100
KEYS = 40
GOOD = ("created", "updated", "unchanged")


@pytest.mark.parametrize(("doctype", "key_field"), [(NOTE, "title"), (ITEM, "code")])
def test_concurrent_upserts_of_shared_keys_leave_one_document_per_key(hub, committed, doctype, key_field):
	prefix = f"P1-{frappe.generate_hash(length=6)}-"
	committed.on_cleanup(lambda: remove_written(doctype, key_field, prefix))
	keys = [f"{prefix}{n:02d}" for n in range(KEYS)]
	start = threading.Barrier(CLIENTS, timeout=60)
	samples: list[str] = []

	def client(number: int) -> list[tuple[int, str]]:
		choose = random.Random(number)
		answers = []
		with hub.client() as http:
			start.wait()
			for _n in range(UPSERTS_PER_CLIENT):
				data = {key_field: choose.choice(keys), "qty": choose.randint(1, 3)}
				response = http.post(f"{API}.upsert", json={"doctype": doctype, "data": data})
				answers.append((response.status_code, _status(response)))
				if response.status_code != 200:
					samples.append(response.text[:300])
		return answers

	with ThreadPoolExecutor(CLIENTS) as pool:
		answers = [a for result in pool.map(client, range(CLIENTS)) for a in result]
	per_key = dict(
		read_committed(
			f"select `{key_field}`, count(*) from `tab{doctype}` where `{key_field}` like %s group by 1",
			(f"{prefix}%",),
		)
	)

	documents = sum(per_key.values())
	duplicated = sorted(key for key, count in per_key.items() if count > 1)
	server_errors = sum(1 for status, _s in answers if status >= 500)
	statuses = Counter(s if status == 200 else f"HTTP {status} {s}" for status, s in answers)
	bad = {answer: n for answer, n in statuses.items() if answer not in GOOD}
	state_figure(
		f"[1] {doctype} (key {key_field}): {len(answers)} upserts by {CLIENTS} clients over {KEYS} keys -> "
		f"{documents} documents (expected {KEYS}), {len(duplicated)} keys duplicated, "
		f"{server_errors} 5xx, {sum(bad.values())} answers not created/updated/unchanged; {dict(statuses)}"
	)
	assert len(answers) == CLIENTS * UPSERTS_PER_CLIENT
	assert server_errors == 0, (statuses, samples[:3])
	assert not bad, (statuses, samples[:3])
	assert not duplicated and documents == KEYS, per_key


def _status(response) -> str:
	try:
		body = response.json()
	except ValueError:
		return response.text[:80]
	message = body.get("message")
	if isinstance(message, dict):
		return str(message.get("status"))
	return str(body.get("code") or body)[:80]

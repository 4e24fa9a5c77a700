"""A transaction InnoDB picks as a deadlock's victim is run again by the hub, not answered as an error.

A real deadlock over HTTP: another client (a connection of the test's own) updates 300 rows, so that
InnoDB finds it the heavier transaction, and locks document B; the hub's atomic bulk_upsert of [A, B]
locks the keys of A and B (documents/key_locks.py) and waits for document B; the other client then
asks for every key lock. InnoDB rolls the hub's transaction back (the lighter one); the hub runs the
call again, which waits until the other client rolls back, and answers 200 with both documents
updated. Without the retry the answer would be 409 CONFLICT."""

import threading
import time

import frappe

from tests.factories import HubResourceFactory, ItemFactory, UserFactory, issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import connection_of_its_own, read_committed

API = "/api/method/integration_hub.api.v1"
HEAVY_ROWS = 300


def _status(name: str) -> int:
	return int(read_committed(f"show global status like '{name}'")[0][1])


def test_a_deadlock_victim_is_run_again(committed, http):
	prefix = f"DL-{frappe.generate_hash(length=6)}"
	committed.track(HubResourceFactory())
	heavy = [committed.track(ItemFactory(code=f"{prefix}-FILL-{n:03d}")) for n in range(HEAVY_ROWS)]
	first, second = (
		committed.track(ItemFactory(code=f"{prefix}-A")),
		committed.track(ItemFactory(code=f"{prefix}-B")),
	)
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	client = http(issue_api_token(editor))
	committed.commit()
	deadlocks_before = _status("Innodb_deadlocks")
	answers = []

	def hub_call():
		records = [{"code": first.code, "qty": 5}, {"code": second.code, "qty": 5}]
		answers.append(
			client.post(f"{API}.bulk_upsert", json={"doctype": ITEM, "records": records, "atomic": True})
		)

	with connection_of_its_own() as other:
		other.sql("update `tabHub Test Item` set qty = qty + 1 where code like %s", (f"{prefix}-FILL-%",))
		other.sql("select name from `tabHub Test Item` where name = %s for update", (second.name,))
		caller = threading.Thread(target=hub_call)
		caller.start()
		deadline = time.monotonic() + 30
		while not _status("Innodb_row_lock_current_waits"):
			assert time.monotonic() < deadline, "the hub's call never waited for the other client's lock"
			time.sleep(0.05)
		other.sql("select name from `tabHub Lock` for update")  # the keys the hub's call holds: a deadlock
		time.sleep(0.5)  # the hub's call, run again, waits for this client's locks
		other.rollback()
	caller.join(60)

	assert len(answers) == 1
	assert answers[0].status_code == 200, answers[0].text
	assert [r["status"] for r in answers[0].json()["message"]["results"]] == ["updated", "updated"]
	assert _status("Innodb_deadlocks") > deadlocks_before, "no deadlock happened: the test proved nothing"
	qty = dict(
		read_committed(
			"select code, qty from `tabHub Test Item` where code in %s", ((first.code, second.code),)
		)
	)
	assert qty == {first.code: 5, second.code: 5}
	assert len(heavy) == HEAVY_ROWS

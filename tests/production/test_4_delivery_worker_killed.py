"""Promise: a delivery worker that dies mid-batch loses no event and breaks no order.

60 events (20 documents, 3 versions each) go to a real receiver on 127.0.0.1 that answers slowly, so a
batch is in flight; the RQ work horse sending it (the process holding a connection to the receiver) is
killed with SIGKILL. Without anyone's help, the jobs and the every-minute sweep then send the rest:
every event arrives at least once with a valid Standard Webhooks signature, each document's events
arrive in order (a resent event never after a later one), and no delivery is left undelivered."""

import signal
import time

import frappe

from tests.factories import HubSubscriptionFactory
from tests.fixtures_doctypes import ITEM
from tests.production.support import (
	API,
	TimedReceiver,
	connected_to,
	deliveries_of,
	remove_subscription,
	remove_written,
	state_figure,
	unverified,
	wait_until,
)

DOCUMENTS = 20
VERSIONS = 3
KILL_AFTER = 6  # requests received before the kill
DELIVERY_TIMEOUT = 200  # the sweep runs every minute; the scheduler ticks every 60 s


def test_a_delivery_worker_killed_mid_batch_loses_no_event_and_keeps_order(hub, committed, sweeping):
	prefix = f"P4-{frappe.generate_hash(length=6)}-"
	receiver = TimedReceiver().start()
	receiver.delay = 0.4
	subscription = HubSubscriptionFactory(
		endpoint_url=receiver.url,
		document_type=ITEM,
		timeout_seconds=30,
		condition=f"doc.code.startswith('{prefix}')",
	)
	secret = subscription.get_password("secret")
	committed.commit()
	committed.on_cleanup(lambda: remove_subscription(subscription.name))
	committed.on_cleanup(lambda: remove_written(ITEM, "code", prefix))
	committed.on_cleanup(receiver.stop)

	with hub.client() as http:
		for version in range(1, VERSIONS + 1):
			records = [{"code": f"{prefix}{n:02d}", "qty": version} for n in range(DOCUMENTS)]
			response = http.post(f"{API}.bulk_upsert", json={"doctype": ITEM, "records": records})
			assert response.status_code == 200, response.text

	restarts = len(hub.cluster.restarts)
	killed = _kill_the_sender(hub.cluster, receiver)
	assert killed, "no work horse was sending when the receiver had its first requests"
	killed_at = time.monotonic()

	expected = DOCUMENTS * VERSIONS
	done = wait_until(
		lambda: (
			len(rows := deliveries_of(subscription.name)) == expected
			and all(row[2] == "Succeeded" for row in rows)
		),
		DELIVERY_TIMEOUT,
	)
	rows = deliveries_of(subscription.name)
	first = receiver.first_arrivals()
	lost = [row[1] for row in rows if row[1] not in first]
	stuck = [row for row in rows if row[2] != "Succeeded"]
	out_of_order = _documents_out_of_order(receiver)
	bad_signatures = unverified(receiver.received, secret)
	duplicates = len(receiver.received) - len(first)
	recovered_in = max(first.values()) - killed_at if first else float("nan")
	state_figure(
		f"[4] delivery horse killed (SIGKILL, pid {killed}) after {KILL_AFTER} of {expected} events: "
		f"{len(lost)} lost, {len(stuck)} stuck, {len(out_of_order)} documents out of order, "
		f"{duplicates} sent twice (at-least-once), {bad_signatures} bad signatures; "
		f"all delivered {recovered_in:.0f} s after the kill"
	)
	assert hub.cluster.restarts[restarts:] == [], "an RQ worker died with its horse"
	hub.cluster.check_running()
	assert len(rows) == expected
	assert done and not stuck, stuck[:5]
	assert not lost
	assert not out_of_order, out_of_order[:5]
	assert bad_signatures == 0


def _kill_the_sender(cluster, receiver) -> int | None:
	"""SIGKILL the work horse connected to the receiver once the receiver has KILL_AFTER requests."""
	deadline = time.monotonic() + 120
	while time.monotonic() < deadline:
		if len(receiver.received) >= KILL_AFTER:
			for worker in cluster.workers:
				for horse in worker.work_horses():
					if connected_to(horse, receiver.port):
						horse.send_signal(signal.SIGKILL)
						return horse.pid
		time.sleep(0.02)
	return None


def _documents_out_of_order(receiver) -> list[str]:
	"""Documents whose events arrived with a version lower than one already received."""
	highest: dict[str, int] = {}
	wrong = []
	for request in receiver.received:
		data = request.json()["data"]
		version = data["object"]["qty"]
		if version < highest.get(data["name"], 0):
			wrong.append(f"{data['name']}: {version} after {highest[data['name']]}")
		highest[data["name"]] = max(version, highest.get(data["name"], 0))
	return wrong

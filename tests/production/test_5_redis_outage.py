"""Promise: nothing is lost while Redis is away.

A writer upserts through gunicorn without pause, 10 s before, 30 s during and 10 s after an outage of
the cluster's Redis (cache and queues; stopped, so its queued jobs and cached values are gone, as in a
crash). Every write must succeed, and every event its writes recorded must reach the receiver within
2 minutes of Redis's return."""

import threading
import time
from collections import Counter

import frappe

from tests.factories import HubSubscriptionFactory
from tests.fixtures_doctypes import ITEM
from tests.production.support import (
	API,
	TimedReceiver,
	deliveries_of,
	remove_subscription,
	remove_written,
	state_figure,
	unverified,
	wait_until,
)

BEFORE, OUTAGE, AFTER = 10, 30, 10
DELIVERED_WITHIN = 120


def test_writes_succeed_while_redis_is_away_and_their_events_arrive_after(hub, committed, sweeping):
	prefix = f"P5-{frappe.generate_hash(length=6)}-"
	receiver = TimedReceiver().start()
	subscription = HubSubscriptionFactory(
		endpoint_url=receiver.url, document_type=ITEM, condition=f"doc.code.startswith('{prefix}')"
	)
	secret = subscription.get_password("secret")
	committed.commit()
	committed.on_cleanup(lambda: remove_subscription(subscription.name))
	committed.on_cleanup(lambda: remove_written(ITEM, "code", prefix))
	committed.on_cleanup(receiver.stop)
	redis = hub.cluster.redis
	restarts = len(hub.cluster.restarts)
	answers: list[tuple[float, int, str]] = []
	stop = threading.Event()

	def writer():
		with hub.client(timeout=60) as http:
			n = 0
			while not stop.is_set():
				data = {"code": f"{prefix}{n % 50:02d}", "qty": n}
				try:
					response = http.post(f"{API}.upsert", json={"doctype": ITEM, "data": data})
					answers.append((time.monotonic(), response.status_code, response.text[:200]))
				except Exception as e:  # a refused or dropped connection is a failed write too
					answers.append((time.monotonic(), 0, repr(e)[:200]))
				n += 1

	thread = threading.Thread(target=writer, daemon=True)
	thread.start()
	try:
		time.sleep(BEFORE)
		redis.stop()
		stopped_at = time.monotonic()
		time.sleep(OUTAGE)
	finally:
		if redis.process is None:
			redis.start()
	back_at = time.monotonic()
	time.sleep(AFTER)
	stop.set()
	thread.join(90)

	during = [a for a in answers if stopped_at <= a[0] <= back_at]
	failed = [a for a in answers if a[1] != 200]
	delivered = wait_until(
		lambda: all(row[2] == "Succeeded" for row in deliveries_of(subscription.name)),
		back_at + DELIVERED_WITHIN - time.monotonic(),
		interval=1,
	)
	rows = deliveries_of(subscription.name)
	first = receiver.first_arrivals()
	late = [row[1] for row in rows if first.get(row[1], float("inf")) > back_at + DELIVERED_WITHIN]
	last = max((first[row[1]] for row in rows if row[1] in first), default=back_at) - back_at
	state_figure(
		f"[5] Redis stopped {OUTAGE} s during {len(answers)} writes ({len(during)} while it was away): "
		f"{len(failed)} writes failed {dict(Counter(a[1] for a in failed))}; {len(rows)} events, "
		f"{len(late)} not delivered within {DELIVERED_WITHIN} s of Redis's return "
		f"(the last {last:.0f} s after), {unverified(receiver.received, secret)} bad signatures; "
		f"{len(hub.cluster.restarts) - restarts} RQ worker exits while Redis was away (restarted, as a "
		"supervisor does)"
	)
	assert during, "no write was made while Redis was away"
	assert not failed, sorted({a[2] for a in failed})[:3]
	assert rows and delivered and not late
	hub.cluster.check_running()

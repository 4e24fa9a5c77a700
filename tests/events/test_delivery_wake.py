"""Waking the delivery job after a commit (events/outbox.py, events/jobs.py): a process asks Redis whether a
job is queued at most every MARKER_SEEN_SECONDS, and the job keeps looking for due deliveries long
enough after clearing the marker to send what the commits that skipped the question wrote."""

import time

import pytest

import frappe

from integration_hub.events import jobs, outbox
from tests.events.support import Receiver
from tests.factories import HubSubscriptionFactory, ItemFactory


@pytest.fixture
def receiver():
	endpoint = Receiver().start()
	yield endpoint
	endpoint.stop()


def queued_delivery_jobs(site: str) -> int:
	from rq import Queue

	from frappe.utils.background_jobs import get_queue_list, get_redis_conn

	connection = get_redis_conn()
	return sum(
		1
		for name in get_queue_list(build_queue_name=True)
		for job in Queue(name, connection=connection).get_jobs()
		if job.kwargs.get("site") == site and job.kwargs.get("method") == outbox.DELIVER_JOB
	)


def test_commits_in_quick_succession_queue_one_job_that_sends_them_all(site, receiver, run_background_jobs):
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url)
	for n in range(3):
		ItemFactory(title=f"burst {n}")
		frappe.db.commit()  # the test's commit: its after-commit hooks run
	assert queued_delivery_jobs(site) == 1

	assert run_background_jobs() == 1
	sent = frappe.get_all("Hub Delivery", filters={"subscription": subscription.name}, pluck="status")
	assert sent == ["Succeeded"] * 3
	assert len(receiver.received) == 3


def test_a_commit_after_the_quiet_moment_asks_again(site, receiver, run_background_jobs):
	HubSubscriptionFactory(endpoint_url=receiver.url)
	ItemFactory(title="first")
	frappe.db.commit()
	assert run_background_jobs() == 1  # the job clears the marker and this process's memory of it

	ItemFactory(title="second")
	frappe.db.commit()
	assert queued_delivery_jobs(site) == 1


def test_the_job_looks_again_after_the_marker_is_cleared(monkeypatch):
	looks: list[float] = []
	monkeypatch.setattr(jobs, "send_due", lambda subscription=None: looks.append(time.monotonic()) or 0)
	started = time.monotonic()
	jobs.deliver()
	# The first look right away; the last one starts after every writer that saw the marker before it
	# was cleared has stopped skipping the question.
	assert looks[0] - started < outbox.DELIVERY_JOB_LOOKS_SECONDS
	assert looks[-1] - started >= outbox.DELIVERY_JOB_LOOKS_SECONDS > outbox.MARKER_SEEN_SECONDS


def test_a_full_queue_does_not_fail_the_commit_that_wrote_the_deliveries(
	site, receiver, monkeypatch, run_background_jobs
):
	"""Releases that limit the queue (site config `max_queued_jobs`; 15.75 raises frappe.QueueOverloaded,
	15.44 has no limit) refuse the wake-up job: the writer's commit still succeeds, and the deliveries
	wait for the sweep."""
	from frappe.utils.background_jobs import get_queue

	subscription = HubSubscriptionFactory(endpoint_url=receiver.url)
	queue = get_queue("default")
	occupant = queue.enqueue_call("frappe.ping")  # no worker runs it: the queue holds one job
	try:
		monkeypatch.setitem(frappe.local.conf, "max_queued_jobs", 1)
		ItemFactory(title="queue full")
		frappe.db.commit()  # the after-commit hook's enqueue is refused where the limit exists
	finally:
		occupant.delete()
	assert frappe.get_all("Hub Delivery", filters={"subscription": subscription.name}, pluck="status") == [
		"Pending"
	]
	assert queued_delivery_jobs(site) == (0 if outbox.QUEUE_FULL else 1), (
		"refused only where the limit exists"
	)

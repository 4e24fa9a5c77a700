"""Outbound webhooks under failure and concurrency: Redis unreachable at commit, two workers sweeping
the same backlog from two processes, and a site that Frappe would consider dormant."""

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

import frappe
from frappe.utils import background_jobs, now_datetime
from frappe.utils.scheduler import is_dormant, schedule_jobs_based_on_activity

from integration_hub.events import jobs
from integration_hub.operations import activity
from tests.events.support import Receiver, commit_and_deliver, deliveries
from tests.factories import HubSubscriptionFactory, ItemFactory
from tests.helpers import make_site_dormant

SWEEP_IN_ANOTHER_PROCESS = """
import sys
import frappe
frappe.init(site=sys.argv[1], sites_path=".")
frappe.connect()
from integration_hub.events import jobs
sent = jobs.sweep()
frappe.db.commit()
frappe.destroy()
print(sent)
"""


SWAP_SUBSCRIPTIONS_IN_ANOTHER_PROCESS = """
import sys
import frappe
frappe.init(site=sys.argv[1], sites_path=".")
frappe.connect()
frappe.set_user("Administrator")
old = frappe.get_doc("Hub Subscription", sys.argv[2])
old.status = "Disabled"
old.save()
new = frappe.get_doc({
	"doctype": "Hub Subscription", "subscription_name": sys.argv[3], "endpoint_url": old.endpoint_url,
	"document_type": old.document_type, "run_as": old.run_as, "send_on_insert": 1,
}).insert()
frappe.db.commit()
frappe.destroy()
"""


@pytest.fixture
def receiver():
	endpoint = Receiver().start()
	yield endpoint
	endpoint.stop()


def _closed_port() -> int:
	with socket.socket() as probe:
		probe.bind(("127.0.0.1", 0))
		return probe.getsockname()[1]


def test_an_event_survives_redis_being_unreachable_at_commit(
	committed, receiver, run_background_jobs, monkeypatch
):
	subscription = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.commit()
	item = committed.track(ItemFactory(title="written while Redis is down"))

	with monkeypatch.context() as redis_down:
		redis_down.setitem(frappe.local.conf, "redis_queue", f"redis://127.0.0.1:{_closed_port()}")
		redis_down.setattr(background_jobs, "_redis_queue_conn", None)
		committed.commit()  # a real COMMIT; enqueueing after it fails, and that must not raise

	assert run_background_jobs() == 0, "no job could be queued"
	[delivery] = deliveries(subscription.name)
	assert delivery.status == "Pending"
	assert (
		frappe.db.sql(  # committed: another connection sees it
			"select count(*) from `tabHub Delivery` where name = %s", (delivery.name,)
		)[0][0]
		== 1
	)

	assert jobs.sweep() == 1
	[request] = receiver.received
	assert request.event_id == delivery.event and request.json()["data"]["name"] == item.name
	assert deliveries(subscription.name)[0].status == "Succeeded"


def test_two_workers_sweeping_at_once_never_double_send(committed, receiver, site):
	# More documents than one worker claims at a time (jobs.CLAIM_BATCH), each with three events.
	subscription = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url, timeout_seconds=30))
	items = [committed.track(ItemFactory(title=f"v1 {n}")) for n in range(15)]
	for version in (2, 3):
		for item in items:
			item.title = f"v{version}"
			item.save()
	committed.commit()
	backlog = deliveries(subscription.name)
	assert len(backlog) == 45

	# The first two requests are answered only once both are in flight: one worker alone cannot pass
	# (it waits for its answer, up to the subscription's 30 s timeout), so the gate breaks after 20 s.
	receiver.gate(2, timeout=20)
	receiver.delay = 0.01
	workers = [
		subprocess.Popen(
			[sys.executable, "-c", SWEEP_IN_ANOTHER_PROCESS, site],
			cwd=os.getcwd(),
			stdout=subprocess.PIPE,
			stderr=subprocess.PIPE,
			text=True,
		)
		for _worker in range(2)
	]
	outputs = []
	for worker in workers:
		try:
			out, err = worker.communicate(timeout=180)
		except subprocess.TimeoutExpired:
			worker.kill()
			raise
		assert worker.returncode == 0, err
		outputs.append(int(out.strip().splitlines()[-1]))

	assert not receiver.barrier.broken, "both workers were sending at the same time"
	assert all(sent > 0 for sent in outputs) and sum(outputs) == 45, outputs
	ids = receiver.ids()
	assert sorted(ids) == sorted(d.event for d in backlog), "every delivery was sent exactly once"
	for n, item in enumerate(items):
		titles = [
			r.json()["data"]["object"]["title"]
			for r in receiver.received
			if r.json()["data"]["name"] == item.name
		]
		assert titles == [f"v1 {n}", "v2", "v3"], "each document's events arrive in order"
	frappe.db.rollback()  # read what the workers committed
	assert {d.status for d in deliveries(subscription.name)} == {"Succeeded"}


def test_a_write_committed_after_a_subscription_change_goes_to_the_new_subscriptions(
	committed, receiver, site
):
	"""The swap of the issue: this process's transaction began (and read) before another process disabled
	one subscription and created another; its next write must be recorded for the new one only."""
	old = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.track(ItemFactory(title="before the change"))  # this process has read the subscriptions already
	committed.commit()
	assert frappe.db.sql("select count(*) from `tabHub Subscription`")[0][0] >= 1  # the snapshot starts

	new_name = f"swapped-in {frappe.generate_hash(length=6)}"
	committed.on_cleanup(lambda: frappe.delete_doc("Hub Subscription", new_name, force=True))
	swap = subprocess.run(
		[sys.executable, "-c", SWAP_SUBSCRIPTIONS_IN_ANOTHER_PROCESS, site, old.name, new_name],
		cwd=os.getcwd(),
		capture_output=True,
		text=True,
		timeout=120,
	)
	assert swap.returncode == 0, swap.stderr

	item = committed.track(ItemFactory(title="after the change"))
	committed.commit()
	assert [d.reference_name for d in deliveries(new_name)] == [item.name]
	assert item.name not in [d.reference_name for d in deliveries(old.name)]


def test_deliveries_keep_an_api_only_site_out_of_dormancy(monkeypatch, receiver, run_background_jobs):
	subscription = HubSubscriptionFactory(endpoint_url=receiver.url)
	_make_the_site_dormant(monkeypatch)
	assert is_dormant()
	assert not schedule_jobs_based_on_activity(), "a dormant site runs scheduled jobs once a day"

	receiver.reply(500)
	ItemFactory()
	commit_and_deliver(run_background_jobs)
	assert deliveries(subscription.name)[0].status == "Failed"
	assert not is_dormant() and schedule_jobs_based_on_activity(), "delivering counts as the site's activity"

	# The once-a-day run of a dormant site's sweep wakes it while deliveries are waiting.
	_make_the_site_dormant(monkeypatch)
	jobs.sweep()
	assert not is_dormant() and schedule_jobs_based_on_activity()
	assert not activity.keep_site_awake(), "at most one Activity Log an hour"


def _make_the_site_dormant(monkeypatch) -> None:
	# Inside the test's transaction, rolled back afterwards: no activity for 10 days, jobs ran an hour ago.
	make_site_dormant(monkeypatch)
	frappe.get_doc(
		{"doctype": "Scheduled Job Log", "scheduled_job_type": "jobs.sweep", "status": "Complete"}
	).insert(ignore_permissions=True)
	frappe.db.sql("update `tabScheduled Job Log` set modified = %s", (now_datetime() - timedelta(hours=1),))

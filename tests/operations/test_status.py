"""The operator's view: `hub status`, `hub doctor`, `hub sync`, `hub recover` (click commands run
in-process against the test site, and once through the real bench CLI) and the health endpoint."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from rq import Worker

import frappe
from frappe.utils import now_datetime
from frappe.utils.background_jobs import generate_qname, get_redis_conn

from integration_hub.commands import hub
from integration_hub.events import outbox
from integration_hub.operations import activity
from integration_hub.operations import doctor as operator_doctor
from integration_hub.operations import status as operator_status
from integration_hub.sync.run import run_job
from integration_hub.sync.scheduler import QUEUE as SYNC_QUEUE
from tests.factories import HubConnectionFactory, HubSubscriptionFactory, HubSyncJobFactory, UserFactory
from tests.helpers import make_site_dormant
from tests.rest_server import TOKEN, rest_server

CLOSED_PORT_REDIS = "redis://127.0.0.1:1"


def invoke(site: str, *args: str):
	return CliRunner().invoke(
		hub, list(args), obj={"sites": [site], "force": False, "verbose": False, "profile": False}
	)


@pytest.fixture
def workers():
	"""Registers real RQ workers in Redis listening to the given queues (as `bench worker` does at start);
	they are unregistered afterwards."""
	registered = []

	def register(*queues: str) -> None:
		worker = Worker(
			[generate_qname(queue) for queue in queues],
			connection=get_redis_conn(),
			name=f"ihtest-operator-{frappe.generate_hash(length=8)}",
		)
		worker.register_birth()
		registered.append(worker)

	yield register
	for worker in registered:
		worker.register_death()


@pytest.fixture
def healthy(workers):
	"""A site with nothing wrong: scheduler enabled, workers on both hub queues, recent activity."""
	frappe.db.set_single_value("System Settings", "enable_scheduler", 1)
	frappe.db.set_value("Hub Subscription", {"status": "Disabled"}, "status", "Active")
	frappe.db.sql("update `tabHub Delivery` set status = 'Succeeded' where status in ('Pending', 'Failed')")
	workers("default", SYNC_QUEUE)
	frappe.db.delete("Activity Log")
	activity.keep_site_awake()


def delivery(subscription: str, status: str, **values) -> int:
	number = outbox.write_test_event(subscription)
	frappe.db.set_value("Hub Delivery", number, {"status": status, **values}, update_modified=False)
	return number


def sync_run(job: str, status: str, started=None) -> str:
	started = started or now_datetime() - timedelta(minutes=10)
	doc = frappe.get_doc(
		{
			"doctype": "Hub Sync Run",
			"job": job,
			"direction": "Pull",
			"status": status,
			"trigger": "Schedule",
			"started": started,
			"finished": started + timedelta(seconds=5),
			"run_as": "Administrator",
		}
	).insert()
	frappe.db.set_value(
		"Hub Sync Job", job, {"last_run": doc.name, "last_run_status": status, "last_run_at": doc.finished}
	)
	return doc.name


def test_status_reports_each_subscription_and_sync_job(site):
	subscription = HubSubscriptionFactory().name
	delivery(subscription, "Pending", next_attempt_at=now_datetime() + timedelta(minutes=5))
	delivery(subscription, "Failed", next_attempt_at=now_datetime() + timedelta(minutes=5))
	delivery(subscription, "Dead")
	delivery(subscription, "Succeeded", completed_at=now_datetime())
	frappe.db.set_value("Hub Subscription", subscription, "last_success_at", now_datetime())
	job = HubSyncJobFactory().name
	sync_run(job, "Succeeded", started=now_datetime() - timedelta(hours=2))
	sync_run(job, "Failed")

	facts = operator_status.hub_status()

	row = next(r for r in facts["subscriptions"] if r["name"] == subscription)
	assert (row["health"], row["pending"], row["dead"]) == ("Healthy", 2, 1)
	assert row["last_success_at"]
	job_row = next(r for r in facts["sync_jobs"] if r["name"] == job)
	assert job_row["last_run_status"] == "Failed"
	assert 2 * 3600 - 60 <= job_row["lag_seconds"] <= 2 * 3600 + 60, "lag counts from the last successful run"
	assert facts["deliveries"]["delivered_today"] >= 1 and facts["deliveries"]["dead"] >= 1
	assert set(facts["workers"]["queues"]) == {"default", SYNC_QUEUE}
	assert facts["redis"]["queue"]["reachable"] and facts["redis"]["cache"]["reachable"]

	result = invoke(site, "status")
	assert result.exit_code == 0, result.output
	line = next(line for line in result.output.splitlines() if subscription in line)
	assert re.split(r"\s{2,}", line.strip())[2:5] == ["Healthy", "2", "1"]
	assert job in result.output and "Failed" in result.output
	assert "Scheduler:" in result.output and "Workers: default" in result.output

	as_json = invoke(site, "status", "--json")
	assert as_json.exit_code == 0
	assert any(r["name"] == job for r in json.loads(as_json.output)["sync_jobs"])


def test_doctor_finds_nothing_on_a_healthy_site(site, healthy):
	assert operator_doctor.doctor() == []
	result = invoke(site, "doctor")
	assert result.exit_code == 0, result.output
	assert "no problems found" in result.output


def test_doctor_reports_a_disabled_scheduler(site, healthy):
	frappe.db.set_single_value("System Settings", "enable_scheduler", 0)
	result = invoke(site, "doctor")
	assert result.exit_code == 1
	assert "[scheduler]" in result.output and f"bench --site {site} scheduler enable" in result.output


def test_doctor_reports_a_queue_no_worker_consumes(site, workers):
	long_queue = generate_qname(SYNC_QUEUE)
	if any(long_queue in worker.queue_names() for worker in Worker.all(connection=get_redis_conn())):
		pytest.fail(
			"a real worker of this bench consumes the long queue right now, so this test cannot show the "
			"doctor finding a queue without one: stop the bench's workers and run it again"
		)
	workers("default")

	findings = [f for f in operator_doctor.doctor() if f.check == "workers"]

	assert len(findings) == 1 and "long queue" in findings[0].problem
	assert "bench worker --queue long" in findings[0].fix
	workers(SYNC_QUEUE)
	assert [f for f in operator_doctor.doctor() if f.check == "workers"] == []


def test_doctor_reports_unreachable_redis(site, healthy, monkeypatch):
	monkeypatch.setitem(frappe.local.conf, "redis_cache", CLOSED_PORT_REDIS)
	result = invoke(site, "doctor")
	assert result.exit_code == 1
	assert "[redis]" in result.output and "127.0.0.1:1" in result.output and "redis_cache" in result.output


def test_doctor_reports_a_dormant_site_and_hub_activity_wakes_it(site, healthy, monkeypatch):
	make_site_dormant(monkeypatch)
	findings = [f for f in operator_doctor.doctor() if f.check == "dormant"]
	assert len(findings) == 1 and "Dormant Days" in findings[0].fix
	activity.keep_site_awake()
	assert [f for f in operator_doctor.doctor() if f.check == "dormant"] == []


def test_doctor_reports_disabled_subscriptions_and_stuck_deliveries(site, healthy):
	off = HubSubscriptionFactory()
	frappe.db.set_value("Hub Subscription", off.name, {"status": "Disabled", "disabled_reason": "410 Gone"})
	delivery(off.name, "Pending", next_attempt_at=now_datetime() - timedelta(hours=1))
	on = HubSubscriptionFactory().name
	delivery(on, "Failed", next_attempt_at=now_datetime() - timedelta(hours=1))
	delivery(on, "Pending", next_attempt_at=now_datetime() - timedelta(minutes=1))  # due just now: not stuck

	result = invoke(site, "doctor")

	assert result.exit_code == 1
	assert f"Hub Subscription {off.name}" in result.output and "410 Gone" in result.output
	assert f"hub recover {off.name} --since" in result.output
	stuck = [f for f in operator_doctor.doctor() if f.check == "deliveries"]
	assert len(stuck) == 1 and stuck[0].problem.startswith("1 deliveries"), "only the active subscription's"


def test_the_real_bench_cli_runs_the_hub_commands(site, committed):
	subscription = committed.track(HubSubscriptionFactory())
	frappe.db.set_value("Hub Subscription", subscription.name, "status", "Disabled")
	committed.commit()
	sites = frappe.utils.get_bench_path() + "/sites"
	command = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", site, "hub"]
	env = {**os.environ, "PYTHONUNBUFFERED": "1"}

	doctor = subprocess.run(
		[*command, "doctor"], cwd=sites, capture_output=True, text=True, timeout=120, env=env
	)
	status = subprocess.run(
		[*command, "status", "--json"], cwd=sites, capture_output=True, text=True, timeout=120, env=env
	)

	assert doctor.returncode == 1, doctor.stdout + doctor.stderr
	assert subscription.name in doctor.stdout and "fix:" in doctor.stdout
	facts = json.loads(status.stdout)
	assert facts["site"] == site
	assert any(r["name"] == subscription.name and r["health"] == "Disabled" for r in facts["subscriptions"])


def test_health_endpoint_gives_managers_the_status_and_problems(api, as_user, healthy):
	manager = UserFactory(roles=["Integration Manager"]).name
	off = HubSubscriptionFactory()
	with as_user(manager):
		status, body = api("health")
	assert status == 200, body
	body = body["message"]
	assert body["ok"] is True and body["problems"] == []
	assert {"scheduler", "workers", "redis", "subscriptions", "sync_jobs", "deliveries"} <= set(body)
	assert any(r["name"] == off.name for r in body["subscriptions"])

	frappe.db.set_value("Hub Subscription", off.name, "status", "Disabled")
	with as_user(manager):
		status, body = api("health")
	assert status == 200 and body["message"]["ok"] is False
	assert [p["check"] for p in body["message"]["problems"]] == ["subscription"]


def test_health_endpoint_refuses_others(api, as_user):
	with as_user(UserFactory(roles=["System Manager"]).name):
		status, body = api("health")
	assert status == 403 and body["code"]
	assert "subscriptions" not in body


def rest_sync_job(rest, prefix: str, records: int = 3) -> str:
	"""A Pull job over the test REST server's catalog, read two records a page."""
	for record_id in range(1, records + 1):
		rest.catalog.put(record_id, sku=f"{prefix}{record_id}", label=f"widget {record_id}")
	return HubSyncJobFactory(
		connection=HubConnectionFactory(
			connection_type="REST", base_url=rest.base_url, auth_type="Bearer", bearer_token=TOKEN
		).name,
		remote_resource="/v1/items",
		records_path="data.items",
		id_field="id",
		cursor_field="seq",
		cursor_param="after",
		page_size_param="limit",
		batch_size=2,
		field_map=[("sku", "code", "", "", 1), ("label", "title", "", "", 0)],
	).name


def test_hub_sync_runs_a_job_in_the_foreground(site):
	prefix = f"OPS-{frappe.generate_hash(length=6)}-"
	with rest_server() as rest:
		job = rest_sync_job(rest, prefix)
		first = invoke(site, "sync", job)
		again = invoke(site, "sync", job)
		full = invoke(site, "sync", job, "--full")

	assert first.exit_code == 0, first.output
	assert f"{job}: syncing" in first.output, "the progress bar's label (a terminal also gets the bar)"
	assert "Succeeded" in first.output and "3 read: 3 created" in first.output
	assert "0 read" in again.output, "the second run starts from the saved cursor"
	assert "cursor reset" in full.output and "3 read: 0 created, 0 updated, 3 unchanged" in full.output
	assert frappe.db.count("Hub Test Item", {"code": ["like", f"{prefix}%"]}) == 3


def test_a_foreground_run_reports_progress_after_each_page(site):
	reports = []
	with rest_server() as rest:
		job = rest_sync_job(rest, f"PRG-{frappe.generate_hash(length=6)}-", records=5)
		run_job(job, on_progress=reports.append)

	assert [report.records_read for report in reports] == [2, 4, 5], "one report per committed page"
	assert [report.done for report in reports] == [False, False, True]
	percents = [report.percent for report in reports]
	assert percents == sorted(percents) and 0 < percents[0] < 100 and percents[-1] == 100
	assert reports[-1].description.startswith("5 read: 5 created")


def test_hub_sync_of_an_unknown_job_fails(site):
	result = invoke(site, "sync", "no-such-job")
	assert result.exit_code == 1 and "not found" in result.output


def test_hub_recover_queues_the_failed_and_dead_deliveries(site):
	subscription = HubSubscriptionFactory().name
	delivery(subscription, "Dead")
	delivery(subscription, "Failed")
	delivery(subscription, "Succeeded")
	since = str(now_datetime() - timedelta(hours=1))

	result = invoke(site, "recover", subscription, "--since", since)
	assert result.exit_code == 0, result.output
	assert f"{subscription}: 2 deliveries since" in result.output

	frappe.db.set_value("Hub Subscription", subscription, "status", "Disabled")
	refused = invoke(site, "recover", subscription, "--since", since)
	assert refused.exit_code == 1 and "disabled" in refused.output
	bad = invoke(site, "recover", subscription, "--since", "not a date")
	assert bad.exit_code == 1 and "since" in bad.output

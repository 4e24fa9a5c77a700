"""Sync jobs as configured objects: validation, the scheduler, run_now and reset_cursor, the state
the runner keeps, and the outbound guard."""

import json
import socket

import pymysql
import pytest

import frappe

from integration_hub import http_client
from integration_hub.exceptions import (
	InvalidBaseURL,
	InvalidFieldMap,
	InvalidLimit,
	InvalidSchedule,
	InvalidSyncSetting,
)
from integration_hub.http_client import (
	ALLOW_PRIVATE_ENDPOINTS,
	OutboundRequestRefused,
	check_url,
	is_public_address,
	outbound_session,
)
from integration_hub.security.roles import INTEGRATION_MANAGER
from integration_hub.sync import scheduler, state
from tests.factories import HubConnectionFactory, HubResourceFactory, HubSyncJobFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE
from tests.rest_server import rest_server


@pytest.fixture
def manager():
	return UserFactory(roles=[INTEGRATION_MANAGER])


@pytest.fixture
def outsider():
	return UserFactory(roles=[EDITOR_ROLE])


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"values, error, message",
	[
		({"schedule": "every hour"}, InvalidSchedule, "not a cron expression"),
		({"field_map": [("code", "code", "", "", 0)]}, InvalidFieldMap, "Tick Key"),
		({"field_map": [("code", "nonexistent", "", "", 1)]}, InvalidFieldMap, "is not a field of"),
		(
			{"field_map": [("code", "code", "", "", 1), ("x", "code", "", "", 0)]},
			InvalidFieldMap,
			"mapped twice",
		),
		(
			{"field_map": [("code", "code", "", "", 1), ("", "title", "", "", 0)]},
			InvalidFieldMap,
			"set the remote field",
		),
		(
			{"field_map": [("code", "code", "", "", 1), ("c", "category", "lookup", "Nope", 0)]},
			InvalidFieldMap,
			"DocType.fieldname",
		),
		({"batch_size": 5000}, InvalidLimit, "between 1 and 1000"),
		(
			{"on_remote_delete": "Disable", "disable_field": "missing"},
			InvalidSyncSetting,
			"is not a field of",
		),
		({"direction": "Push"}, InvalidSyncSetting, "enable a Hub Resource"),
	],
)
def test_a_job_with_an_invalid_setting_is_refused(values, error, message):
	with pytest.raises(error, match=message):
		HubSyncJobFactory(**values)


def test_push_needs_a_frappe_connection():
	HubResourceFactory()
	connection = HubConnectionFactory(connection_type="REST")

	with pytest.raises(InvalidSyncSetting, match="need a Frappe connection"):
		HubSyncJobFactory(
			connection=connection.name,
			direction="Push",
			id_field="id",
			cursor_field="seq",
			cursor_param="after",
		)


def test_a_manager_cannot_make_a_job_run_as_someone_with_more_roles(manager, as_user):
	with as_user(manager.name), pytest.raises(frappe.PermissionError, match="Only a System Manager"):
		HubSyncJobFactory(run_as="Administrator")
	with as_user(manager.name):
		assert HubSyncJobFactory(run_as=manager.name).run_as == manager.name


def test_a_connection_needs_an_http_base_url():
	with pytest.raises(InvalidBaseURL, match="http:// or https://"):
		HubConnectionFactory(base_url="file:///etc/passwd")
	assert HubConnectionFactory(base_url="https://erp.example.com/").base_url == "https://erp.example.com"


def test_saving_the_form_never_overwrites_the_runners_state():
	job = HubSyncJobFactory()
	# As the runner saves it: without touching `modified`, so the open form stays saveable.
	state.save_cursor(job.name, {"kind": "rest", "cursor": 42})

	job.cursor = json.dumps({"kind": "rest", "cursor": 1})  # the stale copy a form would send back
	job.batch_size = 50
	job.save()

	assert state.load_cursor(job.name) == {"kind": "rest", "cursor": 42}
	assert frappe.db.get_value("Hub Sync Job", job.name, "batch_size") == 50


def test_a_copied_job_starts_without_state():
	job = HubSyncJobFactory()
	frappe.db.set_value("Hub Sync Job", job.name, {"cursor": "{}", "last_run_status": "Failed"})
	copy = frappe.copy_doc(frappe.get_doc("Hub Sync Job", job.name))
	copy.job_name = f"{job.job_name} copy"
	copy.insert()

	assert (copy.cursor, copy.last_run_status) == (None, None)


# --- the scheduler --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"last, now, due",
	[
		("2026-03-01 10:00:00", "2026-03-01 10:14:59", False),
		("2026-03-01 10:00:00", "2026-03-01 10:15:00", True),
		("2026-03-01 09:00:00", "2026-03-01 12:07:00", True),
	],
)
def test_a_job_is_due_once_its_schedule_fires(last, now, due):
	assert scheduler.is_due("*/15 * * * *", last, now) is due


def test_the_scheduler_queues_a_due_job_once_and_its_run_is_recorded(run_background_jobs):
	job = HubSyncJobFactory(schedule="*/15 * * * *")
	frappe.db.set_value("Hub Sync Job", job.name, "last_scheduled_at", "2026-03-01 10:00:00")
	disabled = HubSyncJobFactory(enabled=0)
	frappe.db.set_value("Hub Sync Job", disabled.name, "last_scheduled_at", "2026-03-01 10:00:00")

	queued = scheduler.enqueue_due_jobs(now="2026-03-01 10:15:00")
	again = scheduler.enqueue_due_jobs(now="2026-03-01 10:15:30")

	assert job.name in queued and disabled.name not in queued
	assert job.name not in again, "not due again until the next firing"
	assert run_background_jobs() >= 1
	run = frappe.get_all("Hub Sync Run", filters={"job": job.name}, fields=["trigger", "status", "error"])
	assert [(r.trigger, r.status) for r in run] == [("Schedule", "Failed")], "nothing listens on port 9"


def test_a_job_already_queued_is_not_queued_twice(run_background_jobs):
	job = HubSyncJobFactory()

	assert scheduler.enqueue_job(job.name) is True
	assert scheduler.enqueue_job(job.name) is False
	assert run_background_jobs() == 1


# --- run_now and reset_cursor -----------------------------------------------------------------------------


def test_run_now_is_for_integration_managers(api, as_user, manager, outsider, run_background_jobs):
	job = HubSyncJobFactory()
	with as_user(outsider.name):
		status, body = api("run_now", job=job.name)
	assert status == 403 and body["code"] == "PERMISSION_DENIED"

	with as_user(manager.name):
		status, body = api("run_now", job=job.name)
		second_status, second = api("run_now", job=job.name)
	assert status == 200 and body["message"] == {"job": job.name, "queued": True, "running": False}
	assert second_status == 200 and second["message"]["queued"] is False
	assert run_background_jobs() == 1
	assert frappe.get_all("Hub Sync Run", filters={"job": job.name}, pluck="trigger") == ["Manual"]


def test_run_now_of_an_unknown_job_is_404(api, as_user, manager):
	with as_user(manager.name):
		status, body = api("run_now", job="no such job")
	assert status == 404 and body["code"] == "NOT_FOUND"


def test_reset_cursor_forgets_the_cursor_and_waits_for_a_running_job(api, as_user, manager, outsider):
	job = HubSyncJobFactory()
	frappe.db.set_value("Hub Sync Job", job.name, "cursor", json.dumps({"kind": "rest", "cursor": 9}))
	with as_user(outsider.name):
		assert api("reset_cursor", job=job.name)[0] == 403

	with other_connection_holding(state.lock_name(job.name)), as_user(manager.name):
		status, body = api("reset_cursor", job=job.name)
	assert status == 409 and body["code"] == "CONFLICT"
	assert frappe.db.get_value("Hub Sync Job", job.name, "cursor"), "nothing was reset while it ran"

	with as_user(manager.name):
		status, body = api("reset_cursor", job=job.name)
	assert status == 200 and body["message"] == {"job": job.name, "cursor": None}
	assert frappe.db.get_value("Hub Sync Job", job.name, "cursor") is None


class other_connection_holding:
	"""Hold a named database lock from another connection (as a running worker would)."""

	def __init__(self, name: str) -> None:
		self.name = name

	def __enter__(self):
		self.connection = pymysql.connect(
			host=frappe.conf.db_host or "127.0.0.1",
			port=int(frappe.conf.db_port or 3306),
			user=frappe.conf.db_name,
			password=frappe.conf.db_password,
			database=frappe.conf.db_name,
		)
		with self.connection.cursor() as cursor:
			cursor.execute("select get_lock(%s, 0)", (self.name,))
			assert cursor.fetchone()[0] == 1
		return self

	def __exit__(self, *exc):
		self.connection.close()


# --- the outbound guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"url", ["http://127.0.0.1:8000/x", "http://10.1.2.3/", "http://169.254.169.254/latest", "http://[::1]/"]
)
def test_private_addresses_are_refused_unless_the_site_allows_them(url, monkeypatch):
	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)
	with pytest.raises(OutboundRequestRefused, match="private address"):
		check_url(url)
	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, True)
	check_url(url)


def test_a_name_that_rebinds_to_a_private_address_is_refused_when_called(monkeypatch):
	"""DNS rebinding: the name passes the check when saved, then resolves to the machine itself; the
	guard resolves once per connection and connects only to the address it checked."""
	public, real_getaddrinfo = "93.184.215.14", socket.getaddrinfo
	answers = iter([public, "127.0.0.1"])

	def rebinding_dns(host, port, *args, **kwargs):
		if host != "rebind.invalid":
			return real_getaddrinfo(host, port, *args, **kwargs)
		return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)
	monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
	with rest_server() as rest:
		url = f"http://rebind.invalid:{rest.base_url.rsplit(':', 1)[1]}/v1/items"
		check_url(url)  # saved while it resolved to a public address
		with (
			outbound_session() as session,
			pytest.raises(OutboundRequestRefused, match=r"private address 127\.0\.0\.1"),
		):
			session.get(url)
	assert rest.requests == [], "nothing reached the private address"


def test_the_guard_tries_each_checked_address_in_turn(monkeypatch):
	"""As urllib3 does on its own: the first address refuses the connection, the second answers."""
	real_getaddrinfo = socket.getaddrinfo

	def two_addresses(host, port, *args, **kwargs):
		if host != "twice.invalid":
			return real_getaddrinfo(host, port, *args, **kwargs)
		return [
			(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
			for address in ("127.0.0.2", "127.0.0.1")
		]

	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)
	monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
	# Loopback stands in for two public addresses here; the server listens on 127.0.0.1 only.
	monkeypatch.setattr(http_client, "is_public_address", lambda address: address.startswith("127."))
	with rest_server() as rest, outbound_session() as session:
		response = session.get(f"http://twice.invalid:{rest.base_url.rsplit(':', 1)[1]}/v1/items")
	assert response.status_code == 401 and rest.requests == ["/v1/items"], (
		"reached through the second address"
	)


@pytest.mark.parametrize(
	"address, public",
	[
		("8.8.8.8", True),
		("2606:4700:4700::1111", True),
		("::ffff:8.8.8.8", True),
		("64:ff9b::808:808", True),  # NAT64 form of 8.8.8.8
		("127.0.0.1", False),
		("100.64.0.1", False),
		("169.254.169.254", False),
		("0.0.0.0", False),
		("224.0.0.1", False),
		("::1", False),
		("fe80::1%eth0", False),
		("::ffff:10.0.0.1", False),
		("2002:7f00:1::1", False),  # 6to4 form of 127.0.0.1
		("64:ff9b::a00:1", False),  # NAT64 form of 10.0.0.1
		("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
	],
)
def test_ipv6_forms_of_ipv4_addresses_are_judged_by_the_address_they_reach(address, public):
	assert is_public_address(address) is public


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "http://"])
def test_only_http_urls_with_a_host_can_be_called(url):
	with pytest.raises(OutboundRequestRefused, match="Only http and https"):
		check_url(url, allow_private=True)

"""Pulling from a generic REST API (a real server on 127.0.0.1): paging by cursor or token, mapping,
failures that hold the cursor, permissions of run_as, a worker killed mid-run, runs that never overlap."""

import json

import pytest

import frappe
from frappe.utils import get_system_timezone

from integration_hub.documents.bulk import records_with_new_keys
from integration_hub.documents.key_locks import recorded_document
from integration_hub.http_client import ALLOW_PRIVATE_ENDPOINTS
from integration_hub.mapping.field_maps import FieldMap
from integration_hub.sync import state
from integration_hub.sync.pages import job_resource
from integration_hub.sync.run import run_job
from tests.factories import (
	CategoryFactory,
	HubConnectionFactory,
	HubResourceFactory,
	HubSubscriptionFactory,
	HubSyncJobFactory,
	UserFactory,
)
from tests.fixtures_doctypes import ITEM, READER_ROLE
from tests.rest_server import TOKEN, rest_server
from tests.sync.support import (
	counts,
	failures,
	kill,
	local_items,
	run,
	saved_cursor,
	start_job_process,
)

FIELD_MAP = [
	("sku", "code", "strip", "", 1),
	("label", "title", "upper", "", 0),
	("stock", "qty", "int", "", 0),
	("", "status", "constant", "Active", 0),
	("category.title", "category", "lookup", "Hub Test Category.category_name", 0),
	("updated", "notes", "datetime", "", 0),
]


@pytest.fixture
def rest():
	with rest_server() as server:
		yield server


@pytest.fixture
def prefix():
	return f"RST-{frappe.generate_hash(length=6)}-"


@pytest.fixture
def category():
	return CategoryFactory()


def rest_job(rest, **values):
	connection = HubConnectionFactory(
		connection_type="REST", base_url=rest.base_url, auth_type="Bearer", bearer_token=TOKEN
	)
	settings = {
		"connection": connection.name,
		"remote_resource": "/v1/items",
		"records_path": "data.items",
		"id_field": "id",
		"cursor_field": "seq",
		"cursor_param": "after",
		"page_size_param": "limit",
		"batch_size": 2,
		"field_map": FIELD_MAP,
	}
	return HubSyncJobFactory(**{**settings, **values})


def add_records(rest, prefix: str, category, ids, **values) -> None:
	for record_id in ids:
		rest.catalog.put(
			record_id,
			**{
				"sku": f"  {prefix}{record_id:03d} ",
				"label": f"widget {record_id}",
				"stock": str(record_id),
				"category": {"title": category.category_name},
				"updated": "2026-03-01T10:00:00+00:00",
				**values,
			},
		)


def test_first_run_copies_everything_and_the_second_only_what_changed(rest, prefix, category):
	add_records(rest, prefix, category, range(1, 6))
	job = rest_job(rest)

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	assert counts(first) | {} == {
		"read": 5, "created": 5, "updated": 0, "unchanged": 0, "deleted": 0, "skipped": 0, "failed": 0, "pushed": 0,
	}  # fmt: skip
	assert len(local_items(prefix)) == 5
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 5}
	assert [r for r in rest.requests if r.startswith("/v1/items")] == [
		"/v1/items?limit=2",
		"/v1/items?limit=2&after=2",
		"/v1/items?limit=2&after=4",
	]

	rest.catalog.put(2, label="widget two")
	add_records(rest, prefix, category, [6])
	rest.requests.clear()
	second = run(job.name)

	assert (second.records_read, second.created_count, second.updated_count) == (2, 1, 1)
	assert rest.requests[0] == "/v1/items?limit=2&after=5", "the second run starts where the first one ended"
	assert local_items(prefix)[f"{prefix}002"].title == "WIDGET TWO"
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 7}


def test_a_run_names_itself_to_the_remote_and_on_the_changes_it_makes(rest, prefix, category):
	HubResourceFactory()  # items exposed: their writes enter the change feed
	add_records(rest, prefix, category, range(1, 4))
	job = rest_job(rest)
	rest.request_ids.clear()

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	request_id = f"sync-run:{first.name}"
	assert rest.request_ids and set(rest.request_ids) == {request_id}
	names = [frappe.db.get_value(ITEM, {"code": code}) for code in local_items(prefix)]
	changes = frappe.get_all("Hub Change", filters={"docname": ["in", names]}, pluck="request_id")
	assert changes == [request_id] * 3
	assert frappe.local.flags.get("integration_hub_request_id") is None, "the run's id ends with it"


def test_two_remote_records_with_one_key_in_a_page_write_one_local_document(rest, prefix, category):
	"""The page's keys are checked in one query and both records look new; the unique index refuses the
	second insert, which is then looked up and applied as an update."""
	add_records(rest, prefix, category, [1, 2], sku=f"{prefix}SAME")
	rest.catalog.put(2, label="the later one")
	job = rest_job(rest, batch_size=10)
	resource = job_resource(job, FieldMap.from_rows(job.field_map))
	guessed_new = records_with_new_keys(resource, [{"code": f"{prefix}SAME"}] * 2, ("code",))
	assert guessed_new == {0, 1}, "the premise: both are guessed new"

	result = run(job.name)

	assert result.status == "Succeeded", result.error
	assert (result.records_read, result.created_count, result.updated_count) == (2, 1, 1)
	titles = {code: row.title for code, row in local_items(prefix).items()}
	assert titles == {f"{prefix}SAME": "THE LATER ONE"}


def test_a_page_guesses_new_the_keys_whose_recorded_documents_were_deleted(rest, prefix, category):
	add_records(rest, prefix, category, range(1, 4))
	job = rest_job(rest, batch_size=10)
	assert run(job.name).created_count == 3
	resource = job_resource(job, FieldMap.from_rows(job.field_map))
	keys = [{"code": code} for code in local_items(prefix)]
	frappe.delete_doc(ITEM, frappe.db.get_value(ITEM, keys[0]))  # its key's lock row still records it

	assert records_with_new_keys(resource, keys, ("code",)) == {0}

	frappe.db.delete("Hub Sync Link", {"connection": job.connection})
	state.save_cursor(job.name, None)
	second = run(job.name)
	assert (second.created_count, second.unchanged_count) == (1, 2), second.record_errors
	assert len(local_items(prefix)) == 3


def test_a_record_failing_after_its_write_leaves_no_change_event_or_key_record(rest, prefix, category):
	"""A page's change-feed rows, key records and events are written once at its end; a record rolled
	back to its savepoint takes its own with it."""
	HubResourceFactory()  # items exposed: their writes enter the change feed
	subscription = HubSubscriptionFactory(condition="1 / (doc.qty - 5) != 0")  # raises for qty 5
	add_records(rest, prefix, category, [1, 2, 5, 6])  # stock (qty) = the record's id
	job = rest_job(rest, batch_size=10)

	first = run(job.name)

	assert (first.created_count, first.failed_count) == (3, 1), first.record_errors
	names = {row.code: frappe.db.get_value(ITEM, {"code": code}) for code, row in local_items(prefix).items()}
	assert sorted(names) == [f"{prefix}001", f"{prefix}002", f"{prefix}006"]
	assert recorded_document(ITEM, {"code": f"{prefix}005"}) is None  # failed in after_insert
	assert recorded_document(ITEM, {"code": f"{prefix}001"}) == names[f"{prefix}001"]

	rest.catalog.put(1, stock="5")  # fails in on_update, after its change-feed row
	rest.catalog.put(2, stock="7")
	second = run(job.name)

	assert (second.updated_count, second.failed_count) == (1, 2), second.record_errors
	for sync_run, written in (
		(first, [f"{prefix}001", f"{prefix}002", f"{prefix}006"]),
		(second, [f"{prefix}002"]),
	):
		changed = frappe.get_all(
			"Hub Change", filters={"request_id": f"sync-run:{sync_run.name}"}, pluck="docname"
		)
		assert sorted(changed) == sorted(names[code] for code in written), sync_run.name
	sent = frappe.get_all(
		"Hub Delivery",
		filters={"subscription": subscription.name},
		fields=["reference_name", "event_type"],
		order_by="name asc",
	)
	assert [(d.reference_name, d.event_type.rsplit(".", 1)[1]) for d in sent] == [
		*((names[code], "created") for code in (f"{prefix}001", f"{prefix}002", f"{prefix}006")),
		(names[f"{prefix}002"], "updated"),
	]


def test_the_field_map_transforms_each_value(rest, prefix, category):
	add_records(rest, prefix, category, [1], stock="42", updated="2026-03-01T10:00:00+00:00")
	job = rest_job(rest)

	run(job.name)

	item = frappe.get_doc(ITEM, {"code": f"{prefix}001"})
	from datetime import datetime, timezone
	from zoneinfo import ZoneInfo

	expected_notes = (
		datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
		.astimezone(ZoneInfo(get_system_timezone()))
		.replace(tzinfo=None)
	)
	assert (item.title, item.qty, item.status, item.category) == ("WIDGET 1", 42, "Active", category.name)
	assert frappe.utils.get_datetime(item.notes) == expected_notes


def test_a_failing_record_stays_pending_and_the_cursor_waits_before_it(rest, prefix, category):
	add_records(rest, prefix, category, range(1, 8))
	rest.catalog.put(3, stock="three")  # not a whole number: the int transform refuses it (seq 8)
	job = rest_job(rest)

	first = run(job.name)

	assert first.status == "Partial"
	assert (first.records_read, first.created_count, first.failed_count) == (7, 6, 1)
	[failure] = failures(job.name)
	assert failure.record_key == "3" and failure.status == "Pending" and failure.attempts == 1
	assert "stock" in failure.error and json.loads(failure.data)["stock"] == "three"
	assert json.loads(first.record_errors)[0]["record"] == "3"
	# Records 1,2,4,5 / 6,7 / 3 come in pages of two ordered by seq; the record failed on the last page.
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 7}, (
		"the cursor stops before the failed record's page"
	)

	second = run(job.name)
	assert (second.records_read, second.failed_count, second.created_count) == (1, 1, 0)
	assert failures(job.name)[0].attempts == 2
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 7}, "still waiting"

	rest.catalog.put(3, stock="3")  # fixed at the source
	third = run(job.name)

	assert third.status == "Succeeded"
	assert (third.records_read, third.created_count, third.failed_count) == (1, 1, 0)
	assert failures(job.name)[0].status == "Resolved"
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 9}
	assert len(local_items(prefix)) == 7


def test_a_failed_record_in_an_early_page_holds_the_cursor_while_later_pages_are_written(
	rest, prefix, category
):
	add_records(rest, prefix, category, range(1, 7))
	rest.catalog.records[2]["stock"] = "two"  # fails, in the first page
	job = rest_job(rest)

	first = run(job.name)

	assert (first.created_count, first.failed_count) == (5, 1)
	assert saved_cursor(job.name) == {}, "no page was complete, so the cursor did not move"
	second = run(job.name)
	assert (second.records_read, second.unchanged_count, second.failed_count) == (6, 5, 1), (
		"the next run reads from before the failure again; what it already wrote is unchanged"
	)


def test_an_ignored_failure_no_longer_holds_the_cursor(rest, prefix, category):
	add_records(rest, prefix, category, range(1, 4))
	rest.catalog.records[1]["stock"] = "one"
	job = rest_job(rest)
	run(job.name)
	failure = frappe.get_doc("Hub Sync Failure", {"job": job.name, "record_key": "1"})
	failure.status = "Ignored"
	failure.save()

	run(job.name)

	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 3}
	assert frappe.db.get_value("Hub Sync Failure", failure.name, "status") == "Ignored"


def test_token_paging_reads_every_page_and_then_only_the_last_again(rest, prefix, category):
	add_records(rest, prefix, category, range(1, 6))
	job = rest_job(
		rest,
		remote_resource="/v1/pages",
		records_path="results",
		cursor_field="",
		cursor_param="page_token",
		next_cursor_path="next",
	)

	first = run(job.name)
	assert (first.records_read, first.created_count) == (5, 5)

	add_records(rest, prefix, category, [6])
	second = run(job.name)
	assert (second.created_count, second.unchanged_count) == (1, 1), "the last page (record 5) is read again"


def test_a_job_whose_user_may_not_create_fails_its_records_visibly(rest, prefix, category):
	reader = UserFactory(roles=[READER_ROLE])
	add_records(rest, prefix, category, range(1, 4))
	job = rest_job(rest, run_as=reader.name, batch_size=10)

	result = run(job.name)

	assert result.status == "Failed"
	assert (result.records_read, result.failed_count, result.created_count) == (3, 3, 0)
	assert local_items(prefix) == {}
	assert {f.status for f in failures(job.name)} == {"Pending"}
	assert all("not permitted" in f.error for f in failures(job.name))
	assert frappe.db.get_value("Hub Sync Job", job.name, "pending_failures") == 3
	assert frappe.session.user == "Administrator", "the caller's user is restored after the run"


def test_a_remote_on_a_private_address_is_refused_unless_the_site_allows_it(
	rest, prefix, category, monkeypatch
):
	add_records(rest, prefix, category, [1])
	job = rest_job(rest)
	monkeypatch.setitem(frappe.local.conf, ALLOW_PRIVATE_ENDPOINTS, False)

	result = run(job.name)

	assert result.status == "Failed"
	assert "private address 127.0.0.1" in result.error
	assert rest.requests == [] and local_items(prefix) == {}


def test_wrong_credentials_fail_the_run_and_keep_the_cursor(rest, prefix, category):
	add_records(rest, prefix, category, [1])
	job = rest_job(rest)
	frappe.db.set_value("Hub Sync Job", job.name, "cursor", json.dumps({"kind": "rest", "cursor": 0}))
	connection = frappe.get_doc("Hub Connection", job.connection)
	connection.bearer_token = "wrong"
	connection.save()

	result = run(job.name)

	assert result.status == "Failed" and "401" in result.error
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 0}


def test_progress_is_published_to_the_job_form(rest, prefix, category):
	from frappe.utils.background_jobs import get_redis_connection_without_auth

	add_records(rest, prefix, category, range(1, 6))
	job = rest_job(rest)
	pubsub = get_redis_connection_without_auth().pubsub()
	pubsub.subscribe("events")
	try:
		run(job.name)
		messages = []
		while (message := pubsub.get_message(timeout=1)) is not None:
			if message["type"] == "message":
				messages.append(json.loads(message["data"]))
	finally:
		pubsub.close()
	room = f"doc:Hub Sync Job/{job.name}"
	progress = [m["message"] for m in messages if m["room"] == room and m["event"] == "progress"]
	assert len(progress) == 3, "one progress message per page"
	assert progress[-1]["percent"] == 100 and "5 read" in progress[-1]["description"]
	assert any(m["event"] == "integration_hub_sync_finished" and m["room"] == room for m in messages)


# --- runs in another process ----------------------------------------------------------------------


@pytest.fixture
def committed_job(rest, prefix, committed):
	"""A REST job committed for another process to run; everything it leaves behind is removed."""
	category = committed.track(CategoryFactory())
	job = rest_job(rest)
	committed.track(frappe.get_doc("Hub Connection", job.connection))
	committed.track(job)

	def remove_what_the_runs_wrote():
		for name in frappe.get_all(ITEM, filters={"code": ["like", f"{prefix}%"]}, pluck="name"):
			frappe.delete_doc(ITEM, name, force=True)
		for doctype in ("Hub Sync Failure", "Hub Sync Run"):
			frappe.db.delete(doctype, {"job": job.name})
		frappe.db.delete("Hub Sync Link", {"connection": job.connection})

	committed.on_cleanup(remove_what_the_runs_wrote)
	committed.commit()
	return job, category


def test_a_run_killed_mid_way_resumes_without_loss_or_duplicates(
	rest, prefix, committed_job, committed, site
):
	job, category = committed_job
	add_records(rest, prefix, category, range(1, 12))  # 11 records: six pages of two
	rest.hold_request(4)  # the request for the fourth page

	worker = start_job_process(site, job.name)
	try:
		assert rest.held.wait(120), "the worker never asked for the fourth page"
	finally:
		kill(worker)
		rest.release.set()
	committed.commit()  # a fresh snapshot: see what the killed worker committed

	assert len(local_items(prefix)) == 6, "three pages were committed before the kill"
	assert saved_cursor(job.name) == {"kind": "rest", "cursor": 6}
	[interrupted] = frappe.get_all("Hub Sync Run", filters={"job": job.name}, fields=["name", "status"])
	assert interrupted.status == "Running"

	resumed = run(job.name)

	assert resumed.status == "Succeeded"
	assert (resumed.records_read, resumed.created_count, resumed.updated_count) == (5, 5, 0)
	items = local_items(prefix)
	assert sorted(items) == [f"{prefix}{i:03d}" for i in range(1, 12)]
	assert frappe.db.count(ITEM, {"code": ["like", f"{prefix}%"]}) == 11, "no record was written twice"
	assert frappe.db.get_value("Hub Sync Run", interrupted.name, "status") == "Failed"
	assert "Interrupted" in frappe.db.get_value("Hub Sync Run", interrupted.name, "error")


def test_two_runs_of_a_job_never_overlap(rest, prefix, committed_job, committed, site):
	job, category = committed_job
	add_records(rest, prefix, category, range(1, 6))
	rest.hold_request(2)

	worker = start_job_process(site, job.name)
	try:
		assert rest.held.wait(120)
		assert state.is_locked(job.name)
		assert run_job(job.name) is None, "a second run is refused while the first holds the job's lock"
	finally:
		rest.release.set()
	output, errors = worker.communicate(timeout=120)
	assert worker.returncode == 0, errors
	committed.commit()

	runs = frappe.get_all(
		"Hub Sync Run", filters={"job": job.name}, fields=["name", "status", "created_count"]
	)
	assert [(r.name, r.status, r.created_count) for r in runs] == [(output.strip(), "Succeeded", 5)]
	assert not state.is_locked(job.name)


def test_the_connection_test_says_whether_a_rest_remote_accepts_the_credentials(rest):
	connection = HubConnectionFactory(
		connection_type="REST", base_url=rest.base_url, auth_type="Bearer", bearer_token=TOKEN
	)
	assert connection.test_connection()["test_status"] == "OK"

	connection.bearer_token = "wrong"
	connection.save()
	result = connection.test_connection()

	assert result["test_status"] == "Failed" and "401" in result["test_message"]
	assert frappe.db.get_value("Hub Connection", connection.name, "test_status") == "Failed"

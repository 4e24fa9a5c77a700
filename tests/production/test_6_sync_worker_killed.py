"""Promise: a sync run killed mid-pull resumes, and copies every record exactly once.

A Pull job copies 5,000 records of a remote Frappe site running the hub (this site, reached over HTTP
through gunicorn as any remote is: its `Hub Prod Source` change feed) into `Hub Prod Copy`, whose key
field has no unique index, so a record written twice would show as two documents. The run, in an RQ
worker, is killed (SIGKILL of its work horse) once it has committed some pages; the next run finishes:
5,000 documents, 0 lost, 0 duplicates, every one equal to its source."""

import signal
import time

import frappe
from frappe.utils import now_datetime

from integration_hub.sync.scheduler import enqueue_job
from tests.factories import HubConnectionFactory, HubSyncJobFactory
from tests.helpers import read_committed
from tests.production.support import COPY, SOURCE, connected_to, state_figure, wait_until

RECORDS = 5000
BATCH = 500
KILL_AFTER = 1000  # records read (committed pages) before the kill
RUN_TIMEOUT = 300


def test_a_sync_run_killed_mid_pull_resumes_without_loss_or_duplicate(hub, committed):
	prefix = f"P6-{frappe.generate_hash(length=6)}-"
	_seed_source(prefix)
	committed.commit()
	key, secret = hub.operator_token.split(":")
	connection = HubConnectionFactory(
		base_url=hub.cluster.base_url, auth_type="Token", api_key=key, api_secret=secret
	)
	job = HubSyncJobFactory(
		connection=connection.name,
		local_doctype=COPY,
		remote_resource=SOURCE,
		schedule="0 0 1 1 *",  # runs only when asked to, here
		batch_size=BATCH,
	)
	committed.commit()

	def cleanup():
		for doctype in ("Hub Sync Run", "Hub Sync Failure"):
			frappe.db.delete(doctype, {"job": job.name})
		frappe.db.delete("Hub Sync Link", {"connection": connection.name})
		frappe.delete_doc("Hub Sync Job", job.name, force=True, ignore_permissions=True)
		frappe.delete_doc("Hub Connection", connection.name, force=True, ignore_permissions=True)
		frappe.db.delete(SOURCE, {"code": ["like", f"{prefix}%"]})
		frappe.db.delete(COPY, {"code": ["like", f"{prefix}%"]})

	committed.on_cleanup(cleanup)

	started = time.monotonic()
	assert enqueue_job(job.name)
	assert wait_until(lambda: _records_read(job.name) >= KILL_AFTER, RUN_TIMEOUT), (
		"the first run made no progress"
	)
	killed = _kill_the_run(hub.cluster)
	assert killed, "no work horse was running the sync job"
	read_before_kill = _records_read(job.name)
	copied_before_kill = _copies(prefix)[0]

	assert wait_until(lambda: enqueue_job(job.name), 60), "the killed run's RQ job never ended"
	assert wait_until(lambda: _finished_runs(job.name) >= 2, RUN_TIMEOUT, interval=1), (
		"the next run did not finish"
	)
	runs = read_committed(
		"select status, records_read, created_count, updated_count, unchanged_count, error from `tabHub Sync Run`"
		" where job = %s order by creation",
		(job.name,),
	)
	total, distinct = _copies(prefix)
	source = dict(
		read_committed(
			f"select code, concat(title, '|', qty) from `tab{SOURCE}` where code like %s", (f"{prefix}%",)
		)
	)
	copies = dict(
		read_committed(
			f"select code, concat(title, '|', qty) from `tab{COPY}` where code like %s", (f"{prefix}%",)
		)
	)
	lost = [code for code in source if code not in copies]
	different = [code for code in source if code in copies and copies[code] != source[code]]
	state_figure(
		f"[6] sync run killed (SIGKILL, pid {killed}) after {read_before_kill} of {RECORDS} records read "
		f"({copied_before_kill} copied); the next run: {runs[-1][0]}; {total} copies of {distinct} records: "
		f"{len(lost)} lost, {total - distinct} duplicates, {len(different)} different "
		f"({time.monotonic() - started:.0f} s)"
	)
	assert [run[0] for run in runs] == ["Failed", "Succeeded"], runs
	assert "Interrupted" in (runs[0][5] or "")
	assert not lost and total == distinct == RECORDS and not different


def _seed_source(prefix: str) -> None:
	"""5,000 committed source records, written as test data (the pull reads them from the snapshot)."""
	now = now_datetime()
	rows = [
		(
			frappe.generate_hash(length=10),
			now,
			now,
			"Administrator",
			"Administrator",
			f"{prefix}{n:05d}",
			f"Record {n}",
			n % 97,
		)
		for n in range(RECORDS)
	]
	frappe.db.bulk_insert(
		SOURCE, ["name", "creation", "modified", "owner", "modified_by", "code", "title", "qty"], rows
	)
	frappe.db.commit()


def _records_read(job: str) -> int:
	rows = read_committed("select max(records_read) from `tabHub Sync Run` where job = %s", (job,))
	return rows[0][0] or 0


def _finished_runs(job: str) -> int:
	return read_committed(
		"select count(*) from `tabHub Sync Run` where job = %s and status != 'Running'", (job,)
	)[0][0]


def _copies(prefix: str) -> tuple[int, int]:
	return tuple(
		read_committed(
			f"select count(*), count(distinct code) from `tab{COPY}` where code like %s", (f"{prefix}%",)
		)[0]
	)


def _kill_the_run(cluster) -> int | None:
	"""SIGKILL the work horse pulling from the remote (our web server, which only the sync job calls)."""
	port = int(cluster.base_url.rsplit(":", 1)[1])
	deadline = time.monotonic() + 30
	while time.monotonic() < deadline:
		for worker in cluster.workers:
			for horse in worker.work_horses():
				if connected_to(horse, port):
					horse.send_signal(signal.SIGKILL)
					return horse.pid
		time.sleep(0.02)
	return None

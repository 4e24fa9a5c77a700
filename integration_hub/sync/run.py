"""Runs a sync job: page through the source, write each page, save the cursor with it.

A run is the edge that owns its transactions: each page (its records, their links and failures, the
run's counters and the job's cursor) commits at once (pages.py), so a run killed at any point resumes
from the last committed page, and since every write is an upsert by key, a page applied again changes
nothing. The cursor never moves past a record that failed: the page holding it is read again by the
next run, which retries it (records already written come back `unchanged`, costing no write and firing
no events). Runs of one job never overlap: the scheduler queues one RQ job id per sync job, and a run
holds the job's database lock from start to end.

Every read and write of local documents goes through `documents/` as the job's `run_as` user; what a
direction does with a page is in pull.py and push.py, how conflicts are settled in conflicts.py, and
the Hub Sync Run it leaves in run_log.py.
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from integration_hub.exceptions import problem_from_exception
from integration_hub.request_id import carried, labelled
from integration_hub.security.run_as import running_as
from integration_hub.sync import state
from integration_hub.sync.clients.base import RemoteError
from integration_hub.sync.connections import build_client
from integration_hub.sync.pages import commit, rollback_page
from integration_hub.sync.pull import Pull
from integration_hub.sync.push import Push
from integration_hub.sync.run_log import RUN, ProgressCallback, RunLog


def run_job(
	job_name: str, trigger: str = "Manual", on_progress: ProgressCallback | None = None
) -> str | None:
	"""Run a sync job in this process; the Hub Sync Run's name, or None when a run of the job is
	already under way elsewhere (nothing is done then). `on_progress` is called after each committed
	page (a foreground caller's progress bar); the Desk is told in any case."""
	with state.job_lock(job_name) as acquired:
		if not acquired:
			return None
		return _run_locked(job_name, trigger, on_progress)


def run_job_in_background(sync_job: str, trigger: str = "Schedule") -> None:
	"""The RQ entry point (see scheduler.enqueue_job)."""
	if run_job(sync_job, trigger) is None:
		frappe.logger("integration_hub").info(f"sync job {sync_job} is already running; this run was skipped")


def _run_locked(job_name: str, trigger: str, on_progress: ProgressCallback | None) -> str:
	job = frappe.get_doc("Hub Sync Job", job_name)
	close_interrupted_runs(job.name)
	run = RunLog.start(job, trigger, on_progress)
	commit()
	client = None
	# The run's id is on every change, event, Error Log and remote call it causes (request_id.py).
	with carried(f"sync-run:{run.name}"):
		try:
			with running_as(job.run_as, _("sync job {0}").format(job.name)):
				client = build_client(frappe.get_doc("Hub Connection", job.connection))
				direction = Pull if job.direction == "Pull" else Push
				direction(job, run, client).execute()
		except Exception as e:
			rollback_page()
			problem = problem_from_exception(e)
			if problem.status >= 500 and not isinstance(e, RemoteError):
				frappe.log_error(title=labelled(f"integration_hub sync job {job.name} failed"))
			run.fail(str(e) if isinstance(e, RemoteError | frappe.ValidationError) else problem.detail)
		finally:
			if client is not None:
				client.close()
			frappe.local.message_log = []
	run.finish()
	frappe.db.commit()
	run.publish_finished()
	return run.name


def close_interrupted_runs(job_name: str) -> None:
	"""Runs still `Running` while the job's lock is free were cut off (a killed worker): close them."""
	for name in frappe.get_all(RUN, filters={"job": job_name, "status": "Running"}, pluck="name"):
		frappe.db.set_value(
			RUN,
			name,
			{
				"status": "Failed",
				"finished": now_datetime(),
				"error": _(
					"Interrupted: the process running it ended before it finished. The next run resumed from its last saved page."
				),
			},
		)

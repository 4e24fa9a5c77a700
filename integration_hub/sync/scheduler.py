"""When sync jobs run: a scheduler event every minute queues the jobs whose cron schedule has come
due, each under its own RQ job id so that a job still queued or running is not queued again."""

from croniter import croniter

import frappe
from frappe.utils import get_datetime, now_datetime

RUNNER = "integration_hub.sync.run.run_job_in_background"
QUEUE = "long"
JOB_TIMEOUT = 60 * 60  # seconds; a run cut off by it resumes from its last committed page next time


def rq_job_id(sync_job: str) -> str:
	return f"integration_hub_sync::{sync_job}"


def enqueue_job(sync_job: str, trigger: str = "Manual") -> bool:
	"""Queue a run of the job on the long queue; False when one is already queued or running."""
	job = frappe.enqueue(
		RUNNER,
		queue=QUEUE,
		timeout=JOB_TIMEOUT,
		job_id=rq_job_id(sync_job),
		deduplicate=True,
		sync_job=sync_job,
		trigger=trigger,
	)
	return job is not None


def is_due(schedule: str, last: object, now: object) -> bool:
	"""Whether a cron schedule has a firing time after `last` and at or before `now`."""
	next_time = croniter(schedule, get_datetime(last)).get_next(type(get_datetime(now)))
	return next_time <= get_datetime(now)


def due_jobs(now=None) -> list[str]:
	now = get_datetime(now or now_datetime())
	jobs = frappe.get_all(
		"Hub Sync Job",
		filters={"enabled": 1},
		fields=["name", "schedule", "last_scheduled_at", "creation"],
		order_by="name asc",
	)
	due = []
	for job in jobs:
		try:
			if is_due(job.schedule, job.last_scheduled_at or job.creation, now):
				due.append(job.name)
		except (ValueError, KeyError, TypeError):
			frappe.log_error(title=f"integration_hub sync job {job.name}: invalid schedule {job.schedule!r}")
	return due


def enqueue_due_jobs(now=None) -> list[str]:
	"""The every-minute scheduler event (an edge: it commits). Returns the jobs it queued."""
	now = get_datetime(now or now_datetime())
	queued = []
	for name in due_jobs(now):
		if enqueue_job(name, trigger="Schedule"):
			queued.append(name)
		frappe.db.set_value("Hub Sync Job", name, "last_scheduled_at", now, update_modified=False)
	frappe.db.commit()
	return queued

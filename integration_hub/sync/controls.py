"""What an Integration Manager does by hand to a sync job: run it now, or reset its cursor so that the
next run copies everything again. The API and the Desk's buttons call these, each behind the
Integration Manager guard (security/roles.py)."""

import frappe
from frappe import _

from integration_hub.exceptions import Conflict, OperationNotPermitted
from integration_hub.sync import state
from integration_hub.sync.scheduler import enqueue_job


def managed_job(name: object):
	"""The sync job, if the session user may change it (403 otherwise)."""
	job = frappe.get_doc("Hub Sync Job", name)
	if not job.has_permission("write"):
		raise OperationNotPermitted(_("You are not permitted to change sync job {0}").format(job.name))
	return job


def run_now(job) -> dict:
	"""Queue a run at once, unless one is already queued or running."""
	queued = enqueue_job(job.name, trigger="Manual")
	return {"job": job.name, "queued": queued, "running": state.is_locked(job.name)}


def reset_cursor(job) -> dict:
	"""Forget where the job stands: its next run starts from the beginning (a full resync)."""
	with state.job_lock(job.name) as acquired:
		if not acquired:
			raise Conflict(
				_("Sync job {0} is running; reset its cursor when the run has finished").format(job.name)
			)
		state.save_cursor(job.name, None)
	return {"job": job.name, "cursor": None}

"""What an Integration Manager may do to a sync job from outside the runner: run it now, or reset its
cursor so that the next run copies everything again."""

import frappe
from frappe import _

from integration_hub.exceptions import Conflict, OperationNotPermitted
from integration_hub.install import INTEGRATION_MANAGER
from integration_hub.sync import state
from integration_hub.sync.scheduler import enqueue_job


def managed_job(name: object):
	"""The sync job, if the session user is an Integration Manager allowed to change it (403 otherwise)."""
	if INTEGRATION_MANAGER not in frappe.get_roles():
		raise OperationNotPermitted(
			_("Only an {0} may run or reset sync jobs").format(_(INTEGRATION_MANAGER))
		)
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

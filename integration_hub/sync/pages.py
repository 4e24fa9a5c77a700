"""What Pull and Push share: a run's pages, each written under savepoints and committed with its
cursor and counters, and the failures that hold the cursor. The commits are the run's: a run is an
edge (the RQ job, or `bench hub sync`) and these are the steps of its page loop (sync/run.py)."""

from collections import Counter

import frappe
from frappe.utils import cint

from integration_hub.documents.exposure import BATCH_SIZE_LIMIT
from integration_hub.exceptions import problem_from_exception
from integration_hub.locks import rollback_to_savepoint
from integration_hub.mapping.field_maps import FieldMap, mapped_resource
from integration_hub.request_id import labelled
from integration_hub.sync import state
from integration_hub.sync.conflicts import ConflictPolicy
from integration_hub.sync.run_log import RunLog

SAVEPOINT = "integration_hub_sync_record"
PAGE_SAVEPOINT = "integration_hub_sync_page"
COUNT_OF = {
	"created": "created_count",
	"updated": "updated_count",
	"unchanged": "unchanged_count",
	"deleted": "deleted_count",
	"skipped": "skipped_count",
}
MAX_PAGES_PER_RUN = 100_000


def commit() -> None:
	"""End a page: commit it, and mark where the next page starts."""
	frappe.db.commit()
	frappe.db.savepoint(PAGE_SAVEPOINT)
	forget_finished_inserts()


def forget_finished_inserts() -> None:
	"""Frappe 15 notes every document it inserts in `frappe.flags.currently_saving` before the document
	has a name, as (doctype, None), and removes it by its final name, so with autonamed DocTypes the
	list only grows until the request or job ends, and every save scans it: a run writing many pages
	would slow down quadratically. Entries without a name can never be removed by Frappe; drop them at
	each page boundary (nothing is being saved then)."""
	saving = frappe.flags.currently_saving
	if saving:
		saving[:] = [entry for entry in saving if entry[1] is not None]


def rollback_page() -> None:
	"""Undo the page in progress, and only it."""
	rollback_to_savepoint(PAGE_SAVEPOINT)


def job_resource(job, fieldmap: FieldMap):
	"""The job's view of its local DocType (mapping.mapped_resource), with the field that Disable on
	remote delete sets."""
	extra = (job.disable_field,) if job.on_remote_delete == "Disable" and job.disable_field else ()
	return mapped_resource(job.local_doctype, fieldmap, extra)


class PagedRun:
	"""What Pull and Push share: the job's map, resource, failures and the page loop's bookkeeping."""

	def __init__(self, job, run: RunLog, client) -> None:
		self.job = job
		self.run = run
		self.client = client
		self.fieldmap = FieldMap.from_rows(job.field_map)
		self.resource = job_resource(job, self.fieldmap)
		self.conflicts = ConflictPolicy(job.conflict_policy)
		self.batch_size = max(1, min(cint(job.batch_size) or 100, BATCH_SIZE_LIMIT))
		self.failures = state.Failures(job.name)
		self.cursor_held = False

	def commit_page(self, counts: Counter, errors: list[dict], holds: bool, cursor: dict, done: bool) -> None:
		"""Save the page's cursor (unless a failure holds it) and counters, commit, report progress."""
		self.cursor_held = self.cursor_held or holds
		if not self.cursor_held:
			state.save_cursor(self.job.name, cursor)
		self.run.counts, self.run.record_errors = self.run.stage(counts, errors)
		commit()
		frappe.local.message_log = []
		self.run.publish_progress(done)

	def fail_record(
		self, counts: Counter, errors: list[dict], key: str, data: object, error: BaseException
	) -> bool:
		"""Keep a failed record for the next run; True when it holds the cursor."""
		problem = problem_from_exception(error)
		detail = problem.detail
		if problem.errors:
			detail += (
				" (" + ", ".join(f"{e.get('pointer')}: {e.get('detail')}" for e in problem.errors[:10]) + ")"
			)
		if problem.status >= 500:
			frappe.log_error(title=labelled(f"integration_hub sync job {self.job.name}: record {key}"))
		counts["failed_count"] += 1
		errors.append({"record": key, "error": detail, "code": problem.code})
		return self.failures.record(self.run.name, key, data, detail)

	def local_versions(self, names: list[str]) -> dict[str, object]:
		"""name -> modified of the local documents the run_as user may read."""
		names = [name for name in dict.fromkeys(names) if name]
		if not names:
			return {}
		rows = frappe.get_list(
			self.job.local_doctype,
			filters={"name": ["in", names]},
			fields=["name", "modified"],
			limit_page_length=0,
		)
		return {row.name: row.modified for row in rows}

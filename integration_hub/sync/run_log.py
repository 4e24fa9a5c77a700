"""The Hub Sync Run of a run: its counters (written with each page), errors, status, and the progress
the Desk and a foreground caller are told after each committed page."""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import now_datetime

RUN = "Hub Sync Run"
COUNTS = (
	"records_read",
	"created_count",
	"updated_count",
	"unchanged_count",
	"deleted_count",
	"skipped_count",
	"failed_count",
	"pushed_count",
)
MAX_RECORD_ERRORS = 20


@dataclass(frozen=True)
class Progress:
	"""Where a run stands after a committed page: what `on_progress` receives and the Desk is sent."""

	job: str
	percent: float
	records_read: int
	total: int | None
	description: str
	done: bool


ProgressCallback = Callable[[Progress], None]


class RunLog:
	"""The Hub Sync Run of this run: counters written with each page, errors, status."""

	def __init__(self, doc, on_progress: ProgressCallback | None = None) -> None:
		self.doc = doc
		self.name = doc.name
		self.on_progress = on_progress
		self.counts = Counter({key: 0 for key in COUNTS})
		self.record_errors: list[dict] = []
		self.error: str | None = None
		self.total: int | None = None

	@classmethod
	def start(cls, job, trigger: str, on_progress: ProgressCallback | None = None) -> "RunLog":
		doc = frappe.get_doc(
			{
				"doctype": RUN,
				"job": job.name,
				"direction": job.direction,
				"status": "Running",
				"trigger": trigger,
				"started": now_datetime(),
				"run_as": job.run_as,
				"cursor_before": job.cursor,
			}
		).insert(ignore_permissions=True)
		frappe.db.set_value(
			"Hub Sync Job",
			job.name,
			{"last_run": doc.name, "last_run_status": "Running", "last_run_at": doc.started},
			update_modified=False,
		)
		return cls(doc, on_progress)

	def stage(self, page_counts: Counter, page_errors: list[dict]) -> tuple[Counter, list[dict]]:
		counts = self.counts.copy()
		counts.update(page_counts)
		errors = (self.record_errors + page_errors)[:MAX_RECORD_ERRORS]
		frappe.db.set_value(
			RUN,
			self.name,
			{**{key: counts[key] for key in COUNTS}, "record_errors": _json(errors) if errors else None},
			update_modified=False,
		)
		return counts, errors

	def fail(self, error: str) -> None:
		self.error = error

	@property
	def status(self) -> str:
		failed = self.counts["failed_count"]
		if self.error or (failed and failed >= self.counts["records_read"]):
			return "Failed"  # stopped, or nothing it read could be written
		return "Partial" if failed else "Succeeded"

	def finish(self) -> None:
		job = self.doc.job
		cursor_after = frappe.db.get_value("Hub Sync Job", job, "cursor")
		pending = frappe.db.count("Hub Sync Failure", {"job": job, "status": "Pending"})
		finished = now_datetime()
		frappe.db.set_value(
			RUN,
			self.name,
			{"status": self.status, "finished": finished, "error": self.error, "cursor_after": cursor_after},
			update_modified=False,
		)
		frappe.db.set_value(
			"Hub Sync Job",
			job,
			{"last_run_status": self.status, "last_run_at": finished, "pending_failures": pending},
			update_modified=False,
		)

	def progress(self, done: bool) -> Progress:
		read = self.counts["records_read"]
		if done:
			percent = 100
		elif self.total:
			percent = min(99, read * 100 / self.total)
		else:  # an open-ended source: creep towards 100 as pages come in
			percent = min(99, read * 100 / (read + 1000))
		description = _(
			"{0} read: {1} created, {2} updated, {3} unchanged, {4} deleted, {5} pushed, {6} failed"
		).format(
			read,
			self.counts["created_count"],
			self.counts["updated_count"],
			self.counts["unchanged_count"],
			self.counts["deleted_count"],
			self.counts["pushed_count"],
			self.counts["failed_count"],
		)
		return Progress(self.doc.job, percent, read, self.total, description, done)

	def publish_progress(self, done: bool) -> None:
		progress = self.progress(done)
		frappe.publish_progress(
			progress.percent,
			title=_("Sync {0}").format(self.doc.job),
			doctype="Hub Sync Job",
			docname=self.doc.job,
			description=progress.description,
		)
		if self.on_progress:
			try:
				self.on_progress(progress)
			except Exception:
				# A display that fails (a closed pipe) must not fail a run whose pages are committed.
				frappe.logger("integration_hub").warning("sync progress callback failed", exc_info=True)
				self.on_progress = None

	def publish_finished(self) -> None:
		frappe.publish_realtime(
			"integration_hub_sync_finished",
			{"job": self.doc.job, "run": self.name, "status": self.status},
			doctype="Hub Sync Job",
			docname=self.doc.job,
		)


def _json(value: object) -> str:
	return json.dumps(value, indent=1, default=str, ensure_ascii=False)

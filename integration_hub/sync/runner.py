"""Runs a sync job: page through the source, write each page, save the cursor with it.

A run is the edge that owns its transactions: each page (its records, their links and failures, the
run's counters and the job's cursor) commits at once, so a run killed at any point resumes from the
last committed page, and since every write is an upsert by key, a page applied again changes nothing.
The cursor never moves past a record that failed: the page holding it is read again by the next run,
which retries it (records already written come back `unchanged`, costing no write and firing no
events). Runs of one job never overlap: the scheduler queues one RQ job id per sync job, and a run
holds the job's database lock from start to end.

Every read and write of local documents goes through `documents/` as the job's `run_as` user.

Conflicts (a record changed on both sides since it was last synced, as recorded in Hub Sync Link)
are settled by the job's `conflict_policy`; Pull and Push jobs of a connection and DocType share
those links, so a pair of them converges. A record a Pull wrote is linked at the version it wrote, so
the Push of the same connection sees it is in sync and never sends it back (no echo), and a local
deletion applied from a remote deletion drops its link, so it is not sent back either.
"""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, now_datetime

from integration_hub.documents.bulk import lock_batch_keys, records_with_new_keys, upsert_guessed
from integration_hub.documents.changes import read_changes
from integration_hub.documents.exposure import BATCH_SIZE_LIMIT, OPERATIONS, PAGE_SIZE_LIMIT, Resource
from integration_hub.documents.upsert import delete_record, find_by_key, upsert_record
from integration_hub.exceptions import problem_from_exception
from integration_hub.sync import state
from integration_hub.sync.clients.base import RemoteError
from integration_hub.sync.clients.frappe import key_of
from integration_hub.sync.connections import build_client, pull_source, push_target
from integration_hub.sync.mapping import FieldMap, MappingError
from integration_hub.tasks import position_committed_changes

RUN = "Hub Sync Run"
SAVEPOINT = "integration_hub_sync_record"
PAGE_SAVEPOINT = "integration_hub_sync_page"
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
COUNT_OF = {
	"created": "created_count",
	"updated": "updated_count",
	"unchanged": "unchanged_count",
	"deleted": "deleted_count",
	"skipped": "skipped_count",
}
MAX_RECORD_ERRORS = 20
MAX_PAGES_PER_RUN = 100_000
DROP = object()  # the link of a record deleted locally is dropped


@dataclass(frozen=True)
class Progress:
	"""Where a run stands after a committed page: what `on_progress` receives and the Desk is sent."""

	job: str
	percent: float
	records_read: int
	total: int | None
	description: str
	done: bool


def run_job(
	job_name: str, trigger: str = "Manual", on_progress: Callable[[Progress], None] | None = None
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


def _run_locked(job_name: str, trigger: str, on_progress: Callable[[Progress], None] | None) -> str:
	job = frappe.get_doc("Hub Sync Job", job_name)
	close_interrupted_runs(job.name)
	run = RunLog.start(job, trigger, on_progress)
	commit()
	previous_user = frappe.session.user
	client = None
	try:
		check_run_as(job.run_as)
		frappe.set_user(job.run_as)
		client = build_client(frappe.get_doc("Hub Connection", job.connection))
		sync = Pull(job, run, client) if job.direction == "Pull" else Push(job, run, client)
		sync.execute()
	except Exception as e:
		rollback_page()
		frappe.set_user(previous_user)
		problem = problem_from_exception(e)
		if problem.status >= 500 and not isinstance(e, RemoteError):
			frappe.log_error(title=f"integration_hub sync job {job.name} failed")
		run.fail(str(e) if isinstance(e, RemoteError | frappe.ValidationError) else problem.detail)
	finally:
		frappe.set_user(previous_user)
		if client is not None:
			client.close()
		frappe.local.message_log = []
	run.finish()
	frappe.db.commit()
	run.publish_finished()
	return run.name


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
	try:
		frappe.db.rollback(save_point=PAGE_SAVEPOINT)
	except Exception:
		frappe.db.rollback()  # the server already rolled the whole transaction back (e.g. a deadlock)


def check_run_as(user: str) -> None:
	if not user or not frappe.db.get_value("User", user, "enabled"):
		frappe.throw(_("The job's Run As user {0} does not exist or is disabled").format(user or ""))


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


def job_resource(job, fieldmap: FieldMap) -> Resource:
	"""The job's view of its local DocType: the fields of its map, with every operation the run_as
	user's own permissions allow. The job's field map is its curation, whether or not the DocType is
	also exposed through the API (whose Hub Resource governs outside callers, not the administrator's
	own jobs)."""
	fields = set(fieldmap.local_fields)
	if job.on_remote_delete == "Disable" and job.disable_field:
		fields.add(job.disable_field)
	return Resource(
		doctype=job.local_doctype,
		operations=frozenset(OPERATIONS),
		key_fields=fieldmap.key_local_fields,
		allowlist=frozenset(fields),
		max_page_size=PAGE_SIZE_LIMIT,
		max_batch_size=BATCH_SIZE_LIMIT,
	)


class RunLog:
	"""The Hub Sync Run of this run: counters written with each page, errors, status."""

	def __init__(self, doc, on_progress: Callable[[Progress], None] | None = None) -> None:
		self.doc = doc
		self.name = doc.name
		self.on_progress = on_progress
		self.counts = Counter({key: 0 for key in COUNTS})
		self.record_errors: list[dict] = []
		self.error: str | None = None
		self.total: int | None = None

	@classmethod
	def start(cls, job, trigger: str, on_progress: Callable[[Progress], None] | None = None) -> "RunLog":
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


class Sync:
	"""What Pull and Push share: the job's map, resource, failures and the page loop's bookkeeping."""

	def __init__(self, job, run: RunLog, client) -> None:
		self.job = job
		self.run = run
		self.client = client
		self.fieldmap = FieldMap.from_rows(job.field_map)
		self.resource = job_resource(job, self.fieldmap)
		self.policy = job.conflict_policy or "remote_wins"
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
			frappe.log_error(title=f"integration_hub sync job {self.job.name}: record {key}")
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


class Pull(Sync):
	def execute(self) -> None:
		source = pull_source(self.job, self.client, self.fieldmap)
		reading = source.begin(state.load_cursor(self.job.name))
		self.run.total = source.total()
		for _page_number in range(MAX_PAGES_PER_RUN):
			page = source.read(reading, self.batch_size)
			counts, errors, holds = self.write_page(page.entries)
			self.commit_page(counts, errors, holds, page.saved_state, done=not page.has_more)
			if not page.has_more:
				return
			if page.next_state == reading:
				raise RemoteError(
					_("The remote returned the same position twice; the run stopped to avoid a loop")
				)
			reading = page.next_state

	def write_page(self, entries) -> tuple[Counter, list[dict], bool]:
		counts, errors, holds = Counter(records_read=len(entries)), [], False
		connection, doctype = self.job.connection, self.job.local_doctype
		links = state.links_by_remote(connection, doctype, [entry.remote_name for entry in entries])
		mapped = [self.map_entry(entry) for entry in entries]
		lock_batch_keys(self.resource, mapped, self.resource.key_fields)
		known_new = records_with_new_keys(self.resource, mapped, self.resource.key_fields)
		changed, dropped = {}, []
		for index, entry in enumerate(entries):
			frappe.db.savepoint(SAVEPOINT)
			try:
				status, link = self.apply(
					entry, links.get(entry.remote_name), index in known_new, mapped[index]
				)
			except Exception as e:
				frappe.db.rollback(save_point=SAVEPOINT)
				data = entry.data if entry.op == "upsert" else {"op": entry.op, "name": entry.remote_name}
				holds = self.fail_record(counts, errors, entry.remote_name or _("(no id)"), data, e) or holds
				continue
			frappe.db.release_savepoint(SAVEPOINT)
			self.failures.resolve(entry.remote_name)
			counts[COUNT_OF[status]] += 1
			if link is DROP:
				dropped.append(entry.remote_name)
				changed.pop(entry.remote_name, None)
			elif link is not None and link != links.get(entry.remote_name):
				changed[entry.remote_name] = link
		state.save_links(connection, doctype, list(changed.values()))
		state.drop_links(connection, doctype, dropped)
		return counts, errors, holds

	def map_entry(self, entry) -> dict | None:
		"""The local values of an upsert, to check a page's keys in one query; None where there are
		none or they cannot be mapped (apply maps again and reports why)."""
		if entry.op != "upsert" or not entry.remote_name:
			return None
		try:
			return self.fieldmap.to_local(entry.data)
		except Exception:
			return None

	def apply(self, entry, link: state.SyncLink | None, known_new: bool = False, values: dict | None = None):
		"""`known_new`: no local document has the entry's key (checked for the page at once); `values`:
		the entry already mapped (map_entry), so that lookups are not run twice."""
		if not entry.remote_name:
			raise MappingError(_("The remote record has no id"))
		if entry.op == "delete":
			return self.apply_deletion(entry, link)
		if values is None:
			values = self.fieldmap.to_local(entry.data)
		local = None
		if self.policy != "remote_wins":
			local = self.local_version(link, values)
			if (
				local
				and self.local_changed(link, *local)
				and not self.incoming_wins(entry.modified, local[1])
			):
				return "skipped", None
		known_new = known_new and not local  # found after all: update it without a failed insert first
		result = upsert_guessed(self.resource, values, self.resource.key_fields, known_new, SAVEPOINT)
		return result.status, state.SyncLink(
			entry.remote_name, result.name, get_datetime(result.doc["modified"]), entry.modified
		)

	def apply_deletion(self, entry, link: state.SyncLink | None):
		if link is None or not link.local_name or self.job.on_remote_delete == "Ignore":
			return "skipped", None
		local_modified = self.local_versions([link.local_name]).get(link.local_name)
		if local_modified is None:
			return "skipped", DROP  # already gone here (or out of the job user's sight)
		if (
			self.policy != "remote_wins"
			and self.local_changed(link, link.local_name, local_modified)
			and not self.incoming_wins(entry.modified, local_modified)
		):
			return "skipped", None
		if self.job.on_remote_delete == "Disable":
			result = upsert_record(
				self.resource,
				{"name": link.local_name, self.job.disable_field: self.job.disable_value},
				("name",),
			)
			return "deleted", state.SyncLink(
				entry.remote_name, result.name, get_datetime(result.doc["modified"]), entry.modified
			)
		delete_record(self.resource, name=link.local_name)
		return "deleted", DROP

	def local_version(self, link: state.SyncLink | None, values: dict) -> tuple[str, object] | None:
		"""(name, modified) of the local document this record would write, if the user may see one."""
		name = None
		if link and link.local_name:
			name = link.local_name if link.local_name in self.local_versions([link.local_name]) else None
		if name is None:
			name = find_by_key(self.resource, {f: values.get(f) for f in self.resource.key_fields})
		if name is None:
			return None
		modified = self.local_versions([name]).get(name)
		return (name, modified) if modified is not None else None

	@staticmethod
	def local_changed(link: state.SyncLink | None, name: str, modified: object) -> bool:
		"""Whether the local document changed since it was last synced (or was never synced)."""
		return (
			link is None or link.local_name != name or not state.same_instant(link.local_modified, modified)
		)

	def incoming_wins(self, remote_modified: object, local_modified: object) -> bool:
		if self.policy == "local_wins":
			return False
		if self.policy == "newest_wins":
			return remote_modified in (None, "") or state.newer(remote_modified, local_modified)
		return True


class Push(Sync):
	def execute(self) -> None:
		position_committed_changes()  # give feed positions to the local changes committed so far (commits)
		frappe.db.savepoint(PAGE_SAVEPOINT)
		self.target = push_target(self.job, self.client, self.fieldmap)
		saved = state.load_cursor(self.job.name)
		reading = saved.get("feed") if saved.get("kind") == "local_feed" else None
		for _page_number in range(MAX_PAGES_PER_RUN):
			page = read_changes(self.resource, reading, self.batch_size)
			counts, errors, holds = self.push_page(page.changes)
			self.commit_page(
				counts,
				errors,
				holds,
				{"kind": "local_feed", "feed": page.next_cursor},
				done=not page.has_more,
			)
			if not page.has_more:
				return
			reading = page.next_cursor

	def push_page(self, changes: list[dict]) -> tuple[Counter, list[dict], bool]:
		counts, errors, holds = Counter(records_read=len(changes)), [], False
		connection, doctype = self.job.connection, self.job.local_doctype
		links = state.links_by_local(connection, doctype, [change["name"] for change in changes])
		outgoing = []  # (local name, local modified, link, remote record)
		for change in changes:
			if change["op"] != "upsert":
				continue
			name, doc = change["name"], change["doc"]
			link = links.get(name)
			if link and state.same_instant(link.local_modified, doc["modified"]):
				counts["skipped_count"] += 1  # as last synced: written by this connection, or already pushed
				self.failures.resolve(name)
				continue
			try:
				outgoing.append((name, doc["modified"], link, self.fieldmap.to_remote(doc)))
			except MappingError as e:
				holds = self.fail_record(counts, errors, name, doc, e) or holds
		outgoing = self.without_lost_conflicts(outgoing, counts)
		new_links, dropped = [], []
		if outgoing:
			results = self.target.upsert([record for _name, _modified, _link, record in outgoing])
			for (name, modified, _link, record), result in zip(outgoing, results, strict=True):
				if result["status"] == "failed":
					holds = (
						self.fail_record(counts, errors, name, record, RemoteRecordError(result["error"]))
						or holds
					)
					continue
				self.failures.resolve(name)
				counts["pushed_count"] += 1
				counts[COUNT_OF[result["status"]]] += 1
				new_links.append(
					state.SyncLink(result["name"], name, get_datetime(modified), result["modified"])
				)
		for change in changes:
			if change["op"] == "delete":
				link = links.get(change["name"])
				if link is None:
					counts["skipped_count"] += (
						1  # never sent to this remote, or deleted here because it was deleted there
					)
				elif self.delete_remote(link, change.get("modified")):
					counts["deleted_count"] += 1
					dropped.append(link.remote_name)
				else:
					counts["skipped_count"] += 1
		state.save_links(connection, doctype, new_links)
		state.drop_links(connection, doctype, dropped)
		return counts, errors, holds

	def without_lost_conflicts(self, outgoing: list, counts: Counter) -> list:
		"""Drop the records whose remote version changed since the last sync and wins the conflict."""
		if not outgoing or self.policy == "local_wins":
			return outgoing
		keys = self.fieldmap.key_remote_fields
		current = self.target.current([key_of(record, keys) for _n, _m, _l, record in outgoing])
		kept = []
		for item in outgoing:
			_name, local_modified, link, record = item
			remote = current.get(key_of(record, keys))
			if (
				remote
				and self.remote_changed(link, remote)
				and not self.outgoing_wins(local_modified, remote["modified"])
			):
				counts["skipped_count"] += 1
				continue
			kept.append(item)
		return kept

	def delete_remote(self, link: state.SyncLink, deleted_at: object) -> bool:
		if self.policy != "local_wins":
			remote_modified = self.target.modified_of([link.remote_name]).get(link.remote_name)
			remote = {"name": link.remote_name, "modified": remote_modified}
			if (
				remote_modified
				and self.remote_changed(link, remote)
				and not self.outgoing_wins(deleted_at, remote_modified)
			):
				return False
		self.target.delete(link.remote_name)
		return True

	@staticmethod
	def remote_changed(link: state.SyncLink | None, remote: dict) -> bool:
		return (
			link is None
			or link.remote_name != remote["name"]
			or not state.same_instant(link.remote_modified, remote["modified"])
		)

	def outgoing_wins(self, local_modified: object, remote_modified: object) -> bool:
		if self.policy == "remote_wins":
			return False
		if self.policy == "newest_wins":
			return state.newer(local_modified, remote_modified)
		return True


class RemoteRecordError(frappe.ValidationError):
	"""The remote refused one record of a batch."""


def _json(value: object) -> str:
	return json.dumps(value, indent=1, default=str, ensure_ascii=False)

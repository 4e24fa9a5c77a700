"""Push: read a page of the local change feed, send what changed since it was last synced to the
remote target, and keep the links of what was written there; deletions are sent one by one."""

from collections import Counter

import frappe
from frappe.utils import get_datetime

from integration_hub.documents.changes import read_changes
from integration_hub.documents.sequencer import position_committed_changes
from integration_hub.exceptions import MappingError
from integration_hub.sync import state
from integration_hub.sync.conflicts import LOCAL
from integration_hub.sync.connections import push_target
from integration_hub.sync.pages import COUNT_OF, MAX_PAGES_PER_RUN, PAGE_SAVEPOINT, PagedRun
from integration_hub.sync.targets import key_of


class Push(PagedRun):
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
		if not outgoing or not self.conflicts.may_refuse(LOCAL):
			return outgoing
		keys = self.fieldmap.key_remote_fields
		current = self.target.current([key_of(record, keys) for _n, _m, _l, record in outgoing])
		kept = []
		for item in outgoing:
			_name, local_modified, link, record = item
			remote = current.get(key_of(record, keys))
			if remote and self.conflicts.refuses(LOCAL, link, remote, local_modified):
				counts["skipped_count"] += 1
				continue
			kept.append(item)
		return kept

	def delete_remote(self, link: state.SyncLink, deleted_at: object) -> bool:
		if self.conflicts.may_refuse(LOCAL):
			remote_modified = self.target.modified_of([link.remote_name]).get(link.remote_name)
			remote = {"name": link.remote_name, "modified": remote_modified}
			if remote_modified and self.conflicts.refuses(LOCAL, link, remote, deleted_at):
				return False
		self.target.delete(link.remote_name)
		return True


class RemoteRecordError(frappe.ValidationError):
	"""The remote refused one record of a batch."""

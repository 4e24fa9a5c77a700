"""Pull: read a page of remote records, map each to local values, write it through the upsert engine
as the job's user, and keep the links of what was written. A record a Pull wrote is linked at the
version it wrote, so the Push of the same connection sees it is in sync and never sends it back (no
echo), and a local deletion applied from a remote deletion drops its link, so it is not sent back
either."""

from collections import Counter

from frappe import _
from frappe.utils import get_datetime

from integration_hub.documents.bulk import (
	RecordSavepoint,
	lock_batch_keys,
	records_with_new_keys,
	upsert_guessed,
	writing_batch,
)
from integration_hub.documents.write import delete_record, find_by_key, upsert_record
from integration_hub.exceptions import MappingError
from integration_hub.sync import state
from integration_hub.sync.clients.base import RemoteError
from integration_hub.sync.conflicts import REMOTE
from integration_hub.sync.connections import pull_source
from integration_hub.sync.pages import COUNT_OF, MAX_PAGES_PER_RUN, SAVEPOINT, PagedRun

DROP = object()  # the link of a record deleted locally is dropped


class Pull(PagedRun):
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
		"""Write a page as a bulk call writes its records (documents/bulk.py): the keys locked and looked
		up at once, each record in a savepoint of its own (set again for each, released once), and
		`writing_batch` (the hub's own rows once at the end of the page)."""
		counts, errors, holds = Counter(records_read=len(entries)), [], False
		connection, doctype = self.job.connection, self.job.local_doctype
		links = state.links_by_remote(connection, doctype, [entry.remote_name for entry in entries])
		mapped = [self.map_entry(entry) for entry in entries]
		lock_batch_keys(self.resource, mapped, self.resource.key_fields)
		known_new = records_with_new_keys(self.resource, mapped, self.resource.key_fields)
		changed, dropped = {}, []
		savepoint = RecordSavepoint(SAVEPOINT)
		with writing_batch() as deferred:
			for index, entry in enumerate(entries):
				mark = deferred.mark()
				savepoint.next_record()
				savepoint.set()
				try:
					status, link = self.apply(
						entry, links.get(entry.remote_name), index in known_new, mapped[index]
					)
				except Exception as e:
					savepoint.roll_back()
					deferred.discard_since(mark)
					data = entry.data if entry.op == "upsert" else {"op": entry.op, "name": entry.remote_name}
					holds = (
						self.fail_record(counts, errors, entry.remote_name or _("(no id)"), data, e) or holds
					)
					continue
				self.failures.resolve(entry.remote_name)
				counts[COUNT_OF[status]] += 1
				if link is DROP:
					dropped.append(entry.remote_name)
					changed.pop(entry.remote_name, None)
				elif link is not None and link != links.get(entry.remote_name):
					changed[entry.remote_name] = link
		savepoint.release()
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
		if self.conflicts.may_refuse(REMOTE):
			local = self.local_version(link, values)
			if local and self.conflicts.refuses(REMOTE, link, local, entry.modified):
				return "skipped", None
		known_new = known_new and not local  # found after all: update it without a failed insert first
		result = upsert_guessed(self.resource, values, self.resource.key_fields, known_new, SAVEPOINT)
		return result.status, state.SyncLink(
			entry.remote_name, result.name, get_datetime(result.document.modified), entry.modified
		)

	def apply_deletion(self, entry, link: state.SyncLink | None):
		if link is None or not link.local_name or self.job.on_remote_delete == "Ignore":
			return "skipped", None
		local_modified = self.local_versions([link.local_name]).get(link.local_name)
		if local_modified is None:
			return "skipped", DROP  # already gone here (or out of the job user's sight)
		local = {"name": link.local_name, "modified": local_modified}
		if self.conflicts.refuses(REMOTE, link, local, entry.modified):  # the local version is read already
			return "skipped", None
		if self.job.on_remote_delete == "Disable":
			result = upsert_record(
				self.resource,
				{"name": link.local_name, self.job.disable_field: self.job.disable_value},
				("name",),
			)
			return "deleted", state.SyncLink(
				entry.remote_name, result.name, get_datetime(result.document.modified), entry.modified
			)
		delete_record(self.resource, name=link.local_name)
		return "deleted", DROP

	def local_version(self, link: state.SyncLink | None, values: dict) -> dict | None:
		"""{"name", "modified"} of the local document this record would write, if the user may see one."""
		name = None
		if link and link.local_name:
			name = link.local_name if link.local_name in self.local_versions([link.local_name]) else None
		if name is None:
			name = find_by_key(self.resource, {f: values.get(f) for f in self.resource.key_fields})
		if name is None:
			return None
		modified = self.local_versions([name]).get(name)
		return {"name": name, "modified": modified} if modified is not None else None

"""A client for a generic JSON HTTP API, and the sync source that pages through one of its lists.

A job describes the endpoint: the path, where the records array sits in the response, which field
identifies a record, and how the next page is asked for: either the last record's cursor field (an
increasing value such as a sequence or an `updated_at` with a tie-breaker, passed back in the cursor
parameter: the endpoint must return records after it, oldest first) or a next-page token found in
the response. Generic REST sources carry no deletions.
"""

from frappe import _

from integration_hub.sync.clients.base import (
	Page,
	RemoteClient,
	RemoteEntry,
	RemoteError,
	error_text,
	json_body,
	send,
)
from integration_hub.sync.mapping import get_path


class RestClient(RemoteClient):
	def get(self, path: str, params: dict | None = None) -> object:
		response = send(self.session, "GET", self.url(path), params=params)
		if response.status_code >= 400:
			raise RemoteError(
				_("The remote answered {0}: {1}").format(response.status_code, error_text(response.text)),
				status=response.status_code,
			)
		return json_body(response)


class RestSource:
	kind = "rest"
	supports_deletions = False

	def __init__(self, client: RestClient, job) -> None:
		self.client = client
		self.path = job.remote_resource
		self.records_path = (job.records_path or "").strip()
		self.id_field = (job.id_field or "id").strip()
		self.cursor_field = (job.cursor_field or "").strip()
		self.cursor_param = (job.cursor_param or "").strip()
		self.next_cursor_path = (job.next_cursor_path or "").strip()
		self.page_size_param = (job.page_size_param or "").strip()

	def begin(self, saved: dict) -> dict:
		return dict(saved) if saved.get("kind") == self.kind else {"kind": self.kind}

	def total(self) -> int | None:
		return None

	def read(self, state: dict, limit: int) -> Page:
		params = {}
		if self.page_size_param:
			params[self.page_size_param] = limit
		if state.get("cursor") not in (None, "") and self.cursor_param:
			params[self.cursor_param] = state["cursor"]
		body = self.client.get(self.path, params)
		records = get_path(body, self.records_path) if self.records_path else body
		if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
			raise RemoteError(
				_("The response of {0} has no list of records at {1}").format(
					self.path, self.records_path or _("its top level")
				)
			)
		entries = [
			RemoteEntry(
				"upsert",
				_identity(get_path(record, self.id_field)),
				_identity(get_path(record, self.cursor_field)) if self.cursor_field else None,
				record,
			)
			for record in records
		]
		if self.next_cursor_path:
			token = get_path(body, self.next_cursor_path)
			if token in (None, "") or not records:
				# The last page: the next run asks for it again (its records cost no write).
				return Page(entries, state, False)
			return Page(entries, {"kind": self.kind, "cursor": token}, True)
		if not records:
			return Page(entries, state, False)
		last = get_path(records[-1], self.cursor_field) if self.cursor_field else None
		if last in (None, ""):
			raise RemoteError(
				_(
					"The last record of the page has no cursor field {0}; set Cursor Field or Next Cursor Path"
				).format(self.cursor_field or _("(not set)"))
			)
		has_more = len(records) >= limit if self.page_size_param else True
		return Page(entries, {"kind": self.kind, "cursor": last}, has_more)


def _identity(value: object) -> str:
	return "" if value is None else str(value)

"""What a Pull job reads: pages of remote records, each with the position to resume from.

	HubFeedSource      a remote integration_hub's change feed, deletions included
	FrappeListSource   a plain Frappe site's `/api/resource`, by a (`modified`, `name`) keyset up to a
	                   high-water mark read when the run starts (never `limit_start`, whose cost grows
	                   with the offset and which skips or repeats rows when the table changes)
	RestSource         a generic JSON API's list, by a cursor field or a next-page token

A REST job describes its endpoint: the path, where the records array sits in the response, which field
identifies a record, and how the next page is asked for: either the last record's cursor field (an
increasing value such as a sequence or an `updated_at` with a tie-breaker, passed back in the cursor
parameter: the endpoint must return records after it, oldest first) or a next-page token found in
the response. Only the change feed carries deletions.
"""

import datetime

from frappe import _
from frappe.utils import get_datetime

from integration_hub.mapping.field_maps import get_path
from integration_hub.sync.clients.base import Page, RemoteEntry, RemoteError, text_or_none
from integration_hub.sync.clients.frappe import FrappeClient
from integration_hub.sync.clients.rest import RestClient


class HubFeedSource:
	"""Reads a remote integration_hub's change feed: a snapshot first, then every change, deletions
	included. The feed's positions are only handed out to committed changes in a gap-free order, so
	following its cursor never skips a change that commits late; the feed's snapshot is bounded by the
	position read when it starts."""

	kind = "feed"
	supports_deletions = True

	def __init__(self, client: FrappeClient, doctype: str) -> None:
		self.client = client
		self.doctype = doctype

	def begin(self, saved: dict) -> dict:
		return dict(saved) if saved.get("kind") == self.kind else {"kind": self.kind}

	def total(self) -> int | None:
		return None

	def read(self, state: dict, limit: int) -> Page:
		answer = self.client.changes(self.doctype, state.get("feed"), limit)
		entries = []
		for change in answer["changes"]:
			if change["op"] == "delete":
				entries.append(RemoteEntry("delete", change["name"], text_or_none(change.get("modified"))))
			else:
				entries.append(
					RemoteEntry("upsert", change["name"], text_or_none(change.get("modified")), change["doc"])
				)
		next_state = {"kind": self.kind, "feed": answer.get("next_cursor") or state.get("feed")}
		return Page(entries, next_state, bool(answer.get("has_more")))


class FrappeListSource:
	"""Reads a plain Frappe site by (`modified`, `name`) keyset, up to the high-water mark read when the
	run starts. Each run first looks back `lookback_seconds` before the saved cursor, for writes whose
	`modified` was set before the cursor but which committed after it was read."""

	kind = "modified"
	supports_deletions = False

	def __init__(self, client: FrappeClient, doctype: str, fields: list[str], lookback_seconds: int) -> None:
		self.client = client
		self.doctype = doctype
		self.fields = list(dict.fromkeys(["name", "modified", *fields]))
		self.lookback = datetime.timedelta(seconds=max(int(lookback_seconds or 0), 0))
		self.high_water: str | None = None
		self.floor: dict | None = None
		self.start: dict = {}

	def begin(self, saved: dict) -> dict:
		newest = self.client.get_list(self.doctype, ["modified"], [], order_by="modified desc", limit=1)
		self.high_water = newest[0]["modified"] if newest else None
		if saved.get("kind") == self.kind and saved.get("modified"):
			self.floor = dict(saved)
			if self.lookback:
				start = get_datetime(saved["modified"]) - self.lookback
				self.start = {"kind": self.kind, "modified": str(start), "name": ""}
			else:
				self.start = dict(saved)
		else:
			self.start = {"kind": self.kind}
		return self.start

	def _window(self, state: dict) -> tuple[list, list | None]:
		filters = [["modified", "<=", self.high_water]]
		or_filters = None
		if state.get("modified"):
			filters.append(["modified", ">=", state["modified"]])
			if state.get("name"):
				or_filters = [["modified", ">", state["modified"]], ["name", ">", state["name"]]]
		return filters, or_filters

	def total(self) -> int | None:
		if self.high_water is None:
			return 0
		filters, _or = self._window(self.start)
		return self.client.get_count(self.doctype, filters)

	def read(self, state: dict, limit: int) -> Page:
		if self.high_water is None:  # the remote has no records yet
			return Page([], state, False, cursor=self.floor or state)
		filters, or_filters = self._window(state)
		rows = self.client.get_list(
			self.doctype,
			self.fields,
			filters,
			or_filters=or_filters,
			order_by="modified asc, name asc",
			limit=limit,
		)
		entries = [RemoteEntry("upsert", row["name"], text_or_none(row.get("modified")), row) for row in rows]
		next_state = (
			{"kind": self.kind, "modified": rows[-1]["modified"], "name": rows[-1]["name"]} if rows else state
		)
		return Page(entries, next_state, len(rows) >= limit, cursor=_later(self.floor, next_state))


def _later(floor: dict | None, state: dict) -> dict:
	"""The later of two keyset positions: the saved cursor never moves back because of the look-back."""
	if not floor or not state.get("modified"):
		return floor or state
	position = (get_datetime(state["modified"]), state.get("name") or "")
	if position < (get_datetime(floor["modified"]), floor.get("name") or ""):
		return floor
	return state


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

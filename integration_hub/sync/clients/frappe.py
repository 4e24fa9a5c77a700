"""A client for another Frappe site, and the sync sources and targets built on it.

A remote that runs integration_hub is read through its change feed (`changes`, deletions included)
and written through `bulk_upsert` and `delete_document`. A plain Frappe site is read through
`/api/resource` with a keyset filter on (`modified`, `name`) up to a high-water mark read when the run
starts (never `limit_start`, whose cost grows with the offset and which skips or repeats rows when the
table changes between pages), and written one document at a time.
"""

import datetime
import json
from urllib.parse import quote

import requests

import frappe
from frappe import _
from frappe.utils import get_datetime

from integration_hub.sync.clients.base import (
	Page,
	RemoteClient,
	RemoteEntry,
	RemoteError,
	error_text,
	json_body,
	send,
)

HUB_METHOD = "integration_hub.api.v1"
REMOTE_LIST_LIMIT = 1000  # the most a remote list page returns
# Answers that say nothing about the record being written: the run stops and is retried later.
RUN_LEVEL_STATUSES = (401, 429, 502, 503, 504)


class FrappeClient(RemoteClient):
	# --- transport ----------------------------------------------------------------------------

	def method(
		self, name: str, http: str = "GET", params: dict | None = None, body: dict | None = None
	) -> object:
		"""Call a whitelisted method; its `message`, or RemoteError."""
		response = send(self.session, http, f"{self.base}/api/method/{name}", params=params, json=body)
		if response.status_code >= 400:
			raise remote_error(response)
		payload = json_body(response)
		return payload.get("message") if isinstance(payload, dict) else payload

	def resource(
		self,
		http: str,
		doctype: str,
		name: str | None = None,
		params: dict | None = None,
		body: dict | None = None,
	) -> object:
		url = f"{self.base}/api/resource/{quote(doctype, safe='')}"
		if name is not None:
			url += f"/{quote(name, safe='')}"
		response = send(self.session, http, url, params=params, json=body)
		if response.status_code >= 400:
			raise remote_error(response)
		payload = json_body(response)
		return payload.get("data") if isinstance(payload, dict) else payload

	# --- discovery ----------------------------------------------------------------------------

	def logged_user(self) -> str:
		return self.method("frappe.auth.get_logged_user")

	def hub_info(self) -> dict | None:
		"""integration_hub's `ping` answer when the remote runs the app, else None."""
		try:
			info = self.method(f"{HUB_METHOD}.ping")
		except RemoteError as e:
			if e.status in (401, 403):
				# Not allowed to call ping at all: the credentials, not the app, are the problem.
				raise
			return None
		return info if isinstance(info, dict) and info.get("app") == "integration_hub" else None

	def exposes(self, doctype: str) -> bool:
		"""Whether the remote integration_hub exposes `doctype` through its document API."""
		try:
			self.method(f"{HUB_METHOD}.describe", params={"doctype": doctype})
		except RemoteError as e:
			if e.status == 404 and e.code == "RESOURCE_NOT_EXPOSED":
				return False
			raise
		return True

	def frappe_version(self) -> str | None:
		versions = self.method("frappe.utils.change_log.get_versions")
		if isinstance(versions, dict):
			return (versions.get("frappe") or {}).get("version")
		return None

	# --- integration_hub's document API -------------------------------------------------------

	def changes(self, doctype: str, cursor: str | None, limit: int) -> dict:
		params = {"doctype": doctype, "limit": limit}
		if cursor:
			params["cursor"] = cursor
		return self.method(f"{HUB_METHOD}.changes", params=params)

	def bulk_upsert(self, doctype: str, records: list[dict], key: list[str]) -> list[dict]:
		answer = self.method(
			f"{HUB_METHOD}.bulk_upsert", "POST", body={"doctype": doctype, "records": records, "key": key}
		)
		return answer["results"]

	def delete_document(self, doctype: str, name: str) -> bool:
		"""Delete a remote document; False when it was already gone."""
		try:
			self.method(f"{HUB_METHOD}.delete_document", "POST", body={"doctype": doctype, "name": name})
		except RemoteError as e:
			if e.status == 404 and e.code == "NOT_FOUND":
				return False
			raise
		return True

	def list_documents(self, doctype: str, fields: list[str], filters: list) -> list[dict]:
		"""Every document matching `filters`, following `next_cursor` across pages."""
		rows, cursor = [], None
		while True:
			params = {
				"doctype": doctype,
				"fields": json.dumps(fields),
				"filters": json.dumps(filters),
				"limit": REMOTE_LIST_LIMIT,
			}
			if cursor:
				params["cursor"] = cursor
			page = self.method(f"{HUB_METHOD}.list_documents", params=params)
			rows += page["data"]
			cursor = page.get("next_cursor")
			if not page.get("has_more") or not cursor:
				return rows

	# --- plain Frappe REST --------------------------------------------------------------------

	def get_list(
		self, doctype: str, fields: list[str], filters: list, or_filters=None, order_by=None, limit=20
	):
		params = {"fields": json.dumps(fields), "filters": json.dumps(filters), "limit_page_length": limit}
		if or_filters:
			params["or_filters"] = json.dumps(or_filters)
		if order_by:
			params["order_by"] = order_by
		return self.resource("GET", doctype, params=params)

	def get_count(self, doctype: str, filters: list) -> int:
		return int(
			self.method(
				"frappe.client.get_count", params={"doctype": doctype, "filters": json.dumps(filters)}
			)
		)


def remote_error(response: requests.Response) -> RemoteError:
	"""A RemoteError from an error answer: integration_hub's problem+json or Frappe's own format."""
	try:
		payload = response.json()
	except ValueError:
		payload = None
	status = response.status_code
	if isinstance(payload, dict) and payload.get("code") and "detail" in payload:
		return RemoteError(
			_("The remote answered {0}: {1}").format(status, error_text(payload.get("detail"))),
			status=status,
			code=payload.get("code"),
			errors=payload.get("errors") or [],
		)
	message = _frappe_message(payload) if isinstance(payload, dict) else ""
	code = payload.get("exc_type") if isinstance(payload, dict) else None
	return RemoteError(
		_("The remote answered {0}: {1}").format(status, error_text(message or response.reason)),
		status=status,
		code=code,
	)


def _frappe_message(payload: dict) -> str:
	messages = []
	try:
		for raw in json.loads(payload.get("_server_messages") or "[]"):
			message = json.loads(raw).get("message") if raw.startswith("{") else raw
			messages.append(frappe.utils.strip_html_tags(str(message)))
	except (ValueError, AttributeError, TypeError):
		pass
	if not messages and payload.get("exception"):
		messages.append(str(payload["exception"]).splitlines()[-1])
	if not messages and payload.get("exc_type"):
		messages.append(str(payload["exc_type"]))
	return "; ".join(messages)


# --- sources -----------------------------------------------------------------------------------


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
				entries.append(RemoteEntry("delete", change["name"], _text(change.get("modified"))))
			else:
				entries.append(
					RemoteEntry("upsert", change["name"], _text(change.get("modified")), change["doc"])
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
		entries = [RemoteEntry("upsert", row["name"], _text(row.get("modified")), row) for row in rows]
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


def _text(value: object) -> str | None:
	return None if value in (None, "") else str(value)


# --- targets -----------------------------------------------------------------------------------


class HubTarget:
	"""Writes to a remote integration_hub: `bulk_upsert` per batch, `delete_document` per deletion."""

	def __init__(self, client: FrappeClient, doctype: str, key_fields: tuple[str, ...]) -> None:
		self.client = client
		self.doctype = doctype
		self.key_fields = list(key_fields)

	def current(self, keys: list[tuple]) -> dict[tuple, dict]:
		"""The remote documents with these keys: key -> {"name", "modified"}."""
		return _current_by_key(self.client.list_documents, self.doctype, self.key_fields, keys)

	def upsert(self, records: list[dict]) -> list[dict]:
		"""One result per record: {"status": created|updated|unchanged, "name", "modified"} or
		{"status": "failed", "error"}."""
		results = self.client.bulk_upsert(self.doctype, records, self.key_fields)
		written = [r["name"] for r in results if r["status"] != "failed"]
		modified = self.modified_of(written)
		answers = []
		for result in sorted(results, key=lambda r: r["index"]):
			if result["status"] == "failed":
				error = result.get("error") or {}
				answers.append({"status": "failed", "error": _record_error_text(error)})
			else:
				answers.append(
					{
						"status": result["status"],
						"name": result["name"],
						"modified": modified.get(result["name"]),
					}
				)
		return answers

	def modified_of(self, names: list[str]) -> dict[str, str]:
		if not names:
			return {}
		rows = self.client.list_documents(self.doctype, ["name", "modified"], [["name", "in", names]])
		return {row["name"]: _text(row["modified"]) for row in rows}

	def delete(self, name: str) -> bool:
		return self.client.delete_document(self.doctype, name)


class FrappeResourceTarget:
	"""Writes to a plain Frappe site through `/api/resource`, one document per request."""

	def __init__(self, client: FrappeClient, doctype: str, key_fields: tuple[str, ...]) -> None:
		self.client = client
		self.doctype = doctype
		self.key_fields = list(key_fields)

	def _list(self, doctype: str, fields: list[str], filters: list) -> list[dict]:
		return self.client.get_list(doctype, fields, filters, limit=REMOTE_LIST_LIMIT)

	def current(self, keys: list[tuple]) -> dict[tuple, dict]:
		return _current_by_key(self._list, self.doctype, self.key_fields, keys)

	def upsert(self, records: list[dict]) -> list[dict]:
		existing = self.current([key_of(record, self.key_fields) for record in records])
		answers = []
		for record in records:
			found = existing.get(key_of(record, self.key_fields))
			try:
				if found:
					doc = self.client.resource("PUT", self.doctype, found["name"], body=record)
					status = "updated"
				else:
					doc = self.client.resource("POST", self.doctype, body=record)
					status = "created"
			except RemoteError as e:
				if e.status is None or e.status in RUN_LEVEL_STATUSES:
					raise  # the remote, not this record, is the problem: stop the run
				answers.append({"status": "failed", "error": e.message})
				continue
			answers.append({"status": status, "name": doc["name"], "modified": _text(doc.get("modified"))})
		return answers

	def modified_of(self, names: list[str]) -> dict[str, str]:
		if not names:
			return {}
		rows = self._list(self.doctype, ["name", "modified"], [["name", "in", names]])
		return {row["name"]: _text(row["modified"]) for row in rows}

	def delete(self, name: str) -> bool:
		try:
			self.client.resource("DELETE", self.doctype, name)
		except RemoteError as e:
			if e.status == 404:
				return False
			raise
		return True


def _current_by_key(list_fn, doctype: str, key_fields: list[str], keys: list[tuple]) -> dict[tuple, dict]:
	keys = [key for key in dict.fromkeys(keys) if all(value not in (None, "") for value in key)]
	if not keys:
		return {}
	fields = list(dict.fromkeys(["name", "modified", *key_fields]))
	if len(key_fields) == 1:
		rows = list_fn(doctype, fields, [[key_fields[0], "in", [key[0] for key in keys]]])
	else:
		rows = []
		for key in keys:
			rows += list_fn(doctype, fields, [[f, "=", v] for f, v in zip(key_fields, key, strict=True)])
	found = {}
	for row in rows:
		found[key_of(row, key_fields)] = {"name": row["name"], "modified": _text(row.get("modified"))}
	return found


def key_of(record: dict, key_fields: list[str] | tuple[str, ...]) -> tuple:
	"""A record's key as a tuple of strings, comparable whatever JSON type each side used."""
	return tuple(None if record.get(f) in (None, "") else str(record.get(f)) for f in key_fields)


def _record_error_text(error: dict) -> str:
	detail = error.get("detail") or error.get("code") or _("failed")
	pointers = ", ".join(
		f"{e.get('pointer')}: {e.get('detail')}" for e in error.get("errors") or [] if e.get("detail")
	)
	return error_text(f"{detail} ({pointers})" if pointers else detail)

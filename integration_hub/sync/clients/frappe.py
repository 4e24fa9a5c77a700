"""The transport to another Frappe site: whitelisted methods and `/api/resource`, integration_hub's
document API where the remote runs it, and both sites' error formats read into a RemoteError. What a
sync job reads and writes through it is in sync/sources.py and sync/targets.py."""

import json
from urllib.parse import quote

import requests

import frappe
from frappe import _

from integration_hub.paths import API_METHOD
from integration_hub.sync.clients.base import (
	RemoteClient,
	RemoteError,
	error_text,
	json_body,
	send,
)

REMOTE_LIST_LIMIT = 1000  # the most a remote list page returns


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
			info = self.method(f"{API_METHOD}.ping")
		except RemoteError as e:
			if e.status in (401, 403):
				# Not allowed to call ping at all: the credentials, not the app, are the problem.
				raise
			return None
		return info if isinstance(info, dict) and info.get("app") == "integration_hub" else None

	def exposes(self, doctype: str) -> bool:
		"""Whether the remote integration_hub exposes `doctype` through its document API."""
		try:
			self.method(f"{API_METHOD}.describe", params={"doctype": doctype})
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
		return self.method(f"{API_METHOD}.changes", params=params)

	def bulk_upsert(self, doctype: str, records: list[dict], key: list[str]) -> list[dict]:
		answer = self.method(
			f"{API_METHOD}.bulk_upsert", "POST", body={"doctype": doctype, "records": records, "key": key}
		)
		return answer["results"]

	def delete_document(self, doctype: str, name: str) -> bool:
		"""Delete a remote document; False when it was already gone."""
		try:
			self.method(f"{API_METHOD}.delete_document", "POST", body={"doctype": doctype, "name": name})
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
			page = self.method(f"{API_METHOD}.list_documents", params=params)
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

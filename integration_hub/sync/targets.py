"""What a Push job writes to: a remote integration_hub (`bulk_upsert` per batch, `delete_document` per
deletion) or a plain Frappe site (`/api/resource`, one document per request). Both find the remote
versions of records by key, for the conflict policy."""

from frappe import _

from integration_hub.sync.clients.base import RemoteError, error_text, text_or_none
from integration_hub.sync.clients.frappe import REMOTE_LIST_LIMIT, FrappeClient

# Answers that say nothing about the record being written: the run stops and is retried later.
RUN_LEVEL_STATUSES = (401, 429, 502, 503, 504)


class Target:
	"""What both targets share: the remote versions of records, found by key or by name through the
	target's own listing (`find`)."""

	def __init__(self, client: FrappeClient, doctype: str, key_fields: tuple[str, ...]) -> None:
		self.client = client
		self.doctype = doctype
		self.key_fields = list(key_fields)

	def find(self, fields: list[str], filters: list) -> list[dict]:
		raise NotImplementedError

	def current(self, keys: list[tuple]) -> dict[tuple, dict]:
		"""The remote documents with these keys: key -> {"name", "modified"}."""
		keys = [key for key in dict.fromkeys(keys) if all(value not in (None, "") for value in key)]
		if not keys:
			return {}
		fields = list(dict.fromkeys(["name", "modified", *self.key_fields]))
		if len(self.key_fields) == 1:
			rows = self.find(fields, [[self.key_fields[0], "in", [key[0] for key in keys]]])
		else:
			rows = []
			for key in keys:
				rows += self.find(fields, [[f, "=", v] for f, v in zip(self.key_fields, key, strict=True)])
		return {
			key_of(row, self.key_fields): {"name": row["name"], "modified": text_or_none(row.get("modified"))}
			for row in rows
		}

	def modified_of(self, names: list[str]) -> dict[str, str]:
		"""name -> modified of the remote documents with these names."""
		if not names:
			return {}
		rows = self.find(["name", "modified"], [["name", "in", names]])
		return {row["name"]: text_or_none(row["modified"]) for row in rows}


class HubTarget(Target):
	"""Writes to a remote integration_hub: `bulk_upsert` per batch, `delete_document` per deletion."""

	def find(self, fields: list[str], filters: list) -> list[dict]:
		return self.client.list_documents(self.doctype, fields, filters)

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

	def delete(self, name: str) -> bool:
		return self.client.delete_document(self.doctype, name)


class FrappeResourceTarget(Target):
	"""Writes to a plain Frappe site through `/api/resource`, one document per request."""

	def find(self, fields: list[str], filters: list) -> list[dict]:
		return self.client.get_list(self.doctype, fields, filters, limit=REMOTE_LIST_LIMIT)

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
			answers.append(
				{"status": status, "name": doc["name"], "modified": text_or_none(doc.get("modified"))}
			)
		return answers

	def delete(self, name: str) -> bool:
		try:
			self.client.resource("DELETE", self.doctype, name)
		except RemoteError as e:
			if e.status == 404:
				return False
			raise
		return True


def key_of(record: dict, key_fields: list[str] | tuple[str, ...]) -> tuple:
	"""A record's key as a tuple of strings, comparable whatever JSON type each side used."""
	return tuple(None if record.get(f) in (None, "") else str(record.get(f)) for f in key_fields)


def _record_error_text(error: dict) -> str:
	detail = error.get("detail") or error.get("code") or _("failed")
	pointers = ", ".join(
		f"{e.get('pointer')}: {e.get('detail')}" for e in error.get("errors") or [] if e.get("detail")
	)
	return error_text(f"{detail} ({pointers})" if pointers else detail)

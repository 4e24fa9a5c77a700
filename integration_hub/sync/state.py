"""The runner's bookkeeping, in the app's own tables: the job's saved cursor and lock, which local
document each remote record was last synced with (Hub Sync Link), and the records that failed
(Hub Sync Failure). None of it is the job user's data, so it is read and written directly; all of it
is written in the transaction of the page it belongs to."""

import datetime
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass

import frappe
from frappe.utils import get_datetime, now_datetime

JOB = "Hub Sync Job"
LINK = "Hub Sync Link"
FAILURE = "Hub Sync Failure"
MAX_ERROR_LENGTH = 10_000


# --- the job's cursor and lock -------------------------------------------------------------------


def load_cursor(job_name: str) -> dict:
	raw = frappe.db.get_value(JOB, job_name, "cursor")
	try:
		state = json.loads(raw) if raw else {}
	except ValueError:
		state = {}
	return state if isinstance(state, dict) else {}


def save_cursor(job_name: str, state: dict | None) -> None:
	value = json.dumps(state, sort_keys=True, default=str) if state else None
	frappe.db.set_value(JOB, job_name, "cursor", value, update_modified=False)


def lock_name(job_name: str) -> str:
	# MariaDB's named locks are server-wide: the database name keeps sites on one server apart.
	digest = hashlib.sha1(f"{frappe.conf.db_name}:{job_name}".encode()).hexdigest()
	return f"integration_hub_sync:{digest[:40]}"


@contextmanager
def job_lock(job_name: str):
	"""Hold the job's database lock for the block; yields False (at once) when another process has it.

	The lock belongs to this database connection, survives the block's commits, and is released by the
	server when the connection ends, so a killed worker never leaves it behind."""
	name = lock_name(job_name)
	acquired = frappe.db.sql("select get_lock(%s, 0)", (name,))[0][0] == 1
	try:
		yield acquired
	finally:
		if acquired:
			frappe.db.sql("select release_lock(%s)", (name,))


def is_locked(job_name: str) -> bool:
	return frappe.db.sql("select is_used_lock(%s)", (lock_name(job_name),))[0][0] is not None


# --- links: which local document a remote record was last synced with ---------------------------


@dataclass(frozen=True)
class SyncLink:
	remote_name: str
	local_name: str | None
	local_modified: datetime.datetime | None
	remote_modified: str | None


def links_by_remote(connection: str, doctype: str, remote_names: list[str]) -> dict[str, SyncLink]:
	return {link.remote_name: link for link in _links(connection, doctype, "remote_name", remote_names)}


def links_by_local(connection: str, doctype: str, local_names: list[str]) -> dict[str, SyncLink]:
	return {link.local_name: link for link in _links(connection, doctype, "local_name", local_names)}


def _links(connection: str, doctype: str, column: str, values: list[str]) -> list[SyncLink]:
	values = [value for value in dict.fromkeys(values) if value]
	if not values:
		return []
	rows = frappe.db.sql(
		f"""select remote_name, local_name, local_modified, remote_modified from `tabHub Sync Link`
		where connection = %s and local_doctype = %s and {column} in %s order by modified""",
		(connection, doctype, tuple(values)),
		as_dict=True,
	)
	return [SyncLink(r.remote_name, r.local_name, r.local_modified, r.remote_modified) for r in rows]


def save_links(connection: str, doctype: str, links: list[SyncLink]) -> None:
	if not links:
		return
	now, user = now_datetime(), frappe.session.user
	rows = []
	for link in links:
		rows += [
			frappe.generate_hash(length=12),
			now,
			now,
			user,
			user,
			connection,
			doctype,
			link.remote_name,
			link.local_name,
			link.local_modified,
			link.remote_modified,
		]
	placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(links))
	frappe.db.sql(
		f"""insert into `tabHub Sync Link`
			(name, creation, modified, owner, modified_by, connection, local_doctype, remote_name, local_name,
			local_modified, remote_modified)
		values {placeholders}
		on duplicate key update local_name = values(local_name), local_modified = values(local_modified),
			remote_modified = values(remote_modified), modified = values(modified), modified_by = values(modified_by)""",
		rows,
	)


def drop_links(connection: str, doctype: str, remote_names: list[str]) -> None:
	if remote_names:
		frappe.db.sql(
			"delete from `tabHub Sync Link` where connection = %s and local_doctype = %s and remote_name in %s",
			(connection, doctype, tuple(remote_names)),
		)


def same_instant(first: object, second: object) -> bool:
	"""Whether two modified stamps (datetimes, or strings in any format Frappe parses) are equal."""
	if first in (None, "") or second in (None, ""):
		return first in (None, "") and second in (None, "")
	try:
		return get_datetime(first) == get_datetime(second)
	except (ValueError, TypeError, OverflowError):
		return str(first) == str(second)


def newer(first: object, second: object) -> bool:
	"""Whether stamp `first` is later than `second`; a missing stamp is older than any other."""
	if first in (None, ""):
		return False
	if second in (None, ""):
		return True
	try:
		return get_datetime(first) > get_datetime(second)
	except (ValueError, TypeError, OverflowError):
		return str(first) > str(second)


# --- failures: records kept with their data and error, retried by every run -----------------------


@dataclass
class OpenFailure:
	name: str
	status: str
	data_hash: str


class Failures:
	"""The job's open failures (Pending or Ignored); records failing again update theirs."""

	def __init__(self, job_name: str) -> None:
		self.job = job_name
		rows = frappe.db.sql(
			"""select name, record_key, status, data_hash from `tabHub Sync Failure`
			where job = %s and status in ('Pending', 'Ignored')""",
			(job_name,),
			as_dict=True,
		)
		self.open = {row.record_key: OpenFailure(row.name, row.status, row.data_hash or "") for row in rows}

	def record(self, run_name: str, record_key: str, data: object, error: str) -> bool:
		"""Keep the record with its error; True when it must hold the cursor (it is not Ignored with
		this very data)."""
		now = now_datetime()
		data_json = frappe.as_json(data, indent=1)
		data_hash = hashlib.sha256(data_json.encode()).hexdigest()
		existing = self.open.get(record_key)
		if existing is None:
			existing_name = frappe.db.get_value(FAILURE, {"job": self.job, "record_key": record_key}, "name")
			if existing_name:
				existing = OpenFailure(existing_name, "Resolved", "")
		ignored = existing is not None and existing.status == "Ignored" and existing.data_hash == data_hash
		status = "Ignored" if ignored else "Pending"
		values = {
			"status": status,
			"run": run_name,
			"error": error[:MAX_ERROR_LENGTH],
			"data": data_json,
			"data_hash": data_hash,
			"last_failed_at": now,
			"resolved_at": None,
		}
		if existing is None:
			doc = frappe.get_doc(
				{
					"doctype": FAILURE,
					"job": self.job,
					"record_key": record_key,
					"attempts": 1,
					"first_failed_at": now,
					**values,
				}
			).insert(ignore_permissions=True)
			self.open[record_key] = OpenFailure(doc.name, status, data_hash)
		else:
			attempts = frappe.db.get_value(FAILURE, existing.name, "attempts") or 0
			frappe.db.set_value(
				FAILURE, existing.name, {**values, "attempts": attempts + 1}, update_modified=True
			)
			self.open[record_key] = OpenFailure(existing.name, status, data_hash)
		return not ignored

	def resolve(self, record_key: str) -> None:
		"""The record was written: its failure, if any, is resolved."""
		failure = self.open.pop(record_key, None)
		if failure:
			frappe.db.set_value(FAILURE, failure.name, {"status": "Resolved", "resolved_at": now_datetime()})

	def pending_count(self) -> int:
		return sum(1 for failure in self.open.values() if failure.status == "Pending")

"""Bulk upserts with one result per input record.

Non-atomic: each record runs in its own savepoint, so a failing record is rolled back alone and the
others are kept. Atomic: every record is still tried (so all errors are reported at once), then any
failure undoes the whole batch.

The keys of a batch are locked first, in one statement (documents/key_locks.py): a concurrent batch or
upsert of the same keys waits for this one's transaction, then finds what it wrote.

Looking a key up and loading its document cost about as much as inserting one, so the batch's
documents are found at once (documents/batch_read.py: one locking read of the DocType and one of each
child table): a record whose document was found is compared with it in memory, and an unchanged one
costs no statement (its savepoint is only set before it is saved). A record whose key nobody has (a
single key field with a unique index) is created without a lookup; if that guess is wrong (two
records of the batch share a key, or another transaction created it meanwhile), the unique index
refuses the insert and the record is retried with the lookup, so the result is what record-by-record
upserts would give. The hub's own rows for the batch (key records, change feed, events) are written
once at its end (documents/deferred.py).
"""

import contextlib
from collections.abc import Iterator

import frappe
from frappe import _

from integration_hub.documents.batch_read import (
	BatchLookup,
	look_up_batch,
	names_by_key_value,
	single_key_field,
)
from integration_hub.documents.creation import create_record
from integration_hub.documents.deferred import DeferredRows, deferring
from integration_hub.documents.exposure import Resource, authorizations_remembered, authorize
from integration_hub.documents.key_locks import comparable, lock_keys, recorded_document
from integration_hub.documents.lifecycle import require_submittable, submit_written
from integration_hub.documents.realtime_log import use_indexed_realtime_log
from integration_hub.documents.write import UpsertResult, authorize_any_write, upsert_record
from integration_hub.exceptions import BadRequest, PayloadTooLarge, ValidationFailed, problem_from_exception
from integration_hub.request_id import labelled

SAVEPOINT = "integration_hub_bulk_record"


MODES = ("upsert", "create")


def bulk_upsert(
	resource: Resource,
	records: object,
	key_fields: tuple[str, ...],
	atomic: bool,
	mode: str = "upsert",
	submit: bool = False,
) -> list[dict]:
	"""`mode="create"`: every record is a new document (documents/creation.py), as create_document.
	`submit`: each record's document is submitted after its write, inside the record's savepoint."""
	if mode not in MODES:
		raise BadRequest(_("mode must be one of: {0}").format(", ".join(MODES)), [{"pointer": "/mode"}])
	if mode == "create":
		authorize(resource, "create")
	else:
		authorize_any_write(resource)
	if submit:
		authorize(resource, "submit")
		require_submittable(resource, "/submit")
	if not isinstance(records, list):
		raise BadRequest(_("records must be a list of objects"), [{"pointer": "/records"}])
	if len(records) > resource.max_batch_size:
		raise PayloadTooLarge(
			_("At most {0} records may be sent at once to {1}; split the batch").format(
				resource.max_batch_size, resource.doctype
			),
			[{"pointer": "/records"}],
		)
	if mode == "create":  # natural keys given are locked as a batch, sorted, as an upsert batch's
		lock_batch_keys(resource, records, resource.key_fields)
		lookup = None
	else:
		lookup = look_up_batch(resource, batch_keys(records, key_fields), key_fields)
	savepoint = RecordSavepoint()
	with writing_batch() as deferred:
		results = [
			_upsert_in_savepoint(
				resource, record, key_fields, index, lookup, deferred, savepoint, mode, submit
			)
			for index, record in enumerate(records)
		]
	savepoint.release()
	failed = [result for result in results if result["status"] == "failed"]
	if atomic and failed:
		raise ValidationFailed(
			_("{0} of {1} records failed; nothing was written").format(len(failed), len(records)),
			errors=[
				{**error, "index": result["index"]}
				for result in failed
				for error in (result["error"]["errors"] or [{"pointer": f"/records/{result['index']}"}])
			],
		)
	return results


@contextlib.contextmanager
def writing_batch() -> Iterator[DeferredRows]:
	"""How the hub writes a batch of records (a bulk call, a sync page, an inbound event): each
	operation's authorization answered once (the caller's roles and scopes do not change meanwhile), the
	hub's own rows written once at the end (documents/deferred.py), and Frappe's after-commit Desk
	messages kept in an indexed log (its check for repeats is quadratic in documents)."""
	use_indexed_realtime_log()
	with authorizations_remembered(), deferring() as deferred:
		yield deferred


def lock_batch_keys(resource: Resource, records: list, key_fields: tuple[str, ...]) -> None:
	"""Lock the keys of every record that has them, in one statement and before the records' savepoints
	(a savepoint's rollback must not undo a lock): concurrent batches and upserts of the same keys wait
	for this transaction, and batches of different keys do not (documents/key_locks.py)."""
	keys = batch_keys(records, key_fields)
	if keys:
		lock_keys(resource.doctype, list(keys.values()))


def batch_keys(records: list, key_fields: tuple[str, ...]) -> dict[int, dict]:
	"""The key values of every record that has them, by record index."""
	return {
		index: {fieldname: record[fieldname] for fieldname in key_fields}
		for index, record in enumerate(records)
		if isinstance(record, dict) and all(_is_key_value(record.get(f)) for f in key_fields)
	}


def _is_key_value(value: object) -> bool:
	return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def records_with_new_keys(resource: Resource, records: list, key_fields: tuple[str, ...]) -> set[int]:
	"""Indexes of the records whose key no document has yet, with one query for the batch (and one for
	the documents recorded on their keys' rows, if any); only for a single key field with a unique
	index. The queries answer existence only, whoever may see the documents: a record whose key
	exists, visible to the caller or not, takes the full lookup."""
	fieldname = single_key_field(resource, key_fields)
	if not fieldname:
		return set()
	keys = {
		index: record[fieldname]
		for index, record in enumerate(records)
		if isinstance(record, dict) and isinstance(record.get(fieldname), str) and record[fieldname]
	}
	taken = names_by_key_value(resource.doctype, fieldname, list(keys.values()))
	# A key another writer created after this transaction began is not in `taken` (its snapshot) but is
	# recorded on the key's lock row: not new either, unless the document recorded there is gone (a
	# key deleted and written again). That is asked of this transaction's snapshot too, in one query:
	# a document created and recorded by a writer that committed since is guessed gone, and its
	# record's insert, refused by the unique index, falls back to the lookup (upsert_guessed).
	untaken = {index: key for index, key in keys.items() if comparable(key) not in taken}
	recorded = {
		index: recorded_document(resource.doctype, {fieldname: key}) for index, key in untaken.items()
	}
	existing = names_by_key_value(resource.doctype, "name", [name for name in recorded.values() if name])
	return {index for index, name in recorded.items() if not name or comparable(name) not in existing}


class RecordSavepoint:
	"""One savepoint name, set again for each record that may write (which replaces the previous one):
	one statement per such record, none for an unchanged one, and one release after the batch."""

	def __init__(self, name: str = SAVEPOINT) -> None:
		self.name = name
		self.is_set = False  # for the current record
		self.used = False

	def next_record(self) -> None:
		self.is_set = False

	def set(self) -> None:
		frappe.db.savepoint(self.name)
		self.is_set = self.used = True

	def roll_back(self) -> None:
		if self.is_set:
			frappe.db.rollback(save_point=self.name)

	def release(self) -> None:
		if self.used:
			frappe.db.release_savepoint(self.name)


def _upsert_in_savepoint(
	resource: Resource,
	record: object,
	key_fields: tuple[str, ...],
	index: int,
	lookup: BatchLookup | None,
	deferred: DeferredRows,
	savepoint: RecordSavepoint,
	mode: str = "upsert",
	submit: bool = False,
) -> dict:
	pointer = f"/records/{index}"
	mark = deferred.mark()
	found = lookup.found.get(index) if lookup is not None else None
	savepoint.next_record()
	try:
		if mode == "create":
			savepoint.set()
			result = create_record(resource, record, pointer, submit=submit)
		elif found is not None:
			result = upsert_record(
				resource, record, key_fields, pointer=pointer, found=found, before_write=savepoint.set
			)
		else:
			savepoint.set()
			result = upsert_guessed(resource, record, key_fields, index in lookup.new, SAVEPOINT, pointer)
		if submit and mode != "create":
			result = submit_written(
				resource, result, before_write=None if savepoint.is_set else savepoint.set
			)
	except frappe.QueryDeadlockError:
		raise  # InnoDB rolled the whole transaction back, savepoints and all: the call runs again
	except Exception as e:
		savepoint.roll_back()
		deferred.discard_since(mark)
		problem = problem_from_exception(e)
		if problem.status >= 500:
			frappe.log_error(
				title=labelled(f"integration_hub bulk_upsert: {resource.doctype} record {index}")
			)
		return {"index": index, "status": "failed", "error": _record_error(problem, index)}
	return {"index": index, "status": result.status, "name": result.name}


def upsert_guessed(
	resource: Resource,
	record: object,
	key_fields: tuple[str, ...],
	known_new: bool,
	savepoint: str,
	pointer: str = "/data",
) -> UpsertResult:
	"""upsert_record for a record that records_with_new_keys guessed new (`known_new`): created without
	a key lookup; if the unique index refuses it after all, rolled back to `savepoint` (set by the
	caller just before) and upserted with the lookup."""
	try:
		return upsert_record(resource, record, key_fields, pointer=pointer, known_new=known_new)
	except (frappe.UniqueValidationError, frappe.DuplicateEntryError):
		# The key's unique index refused it, or, for a DocType named by its key field, the primary key.
		if not known_new:
			raise
		frappe.db.rollback(save_point=savepoint)  # the key was taken after all: look it up
		return upsert_record(resource, record, key_fields, pointer=pointer)


def _record_error(problem, index: int) -> dict:
	errors = problem.errors or [{"pointer": f"/records/{index}", "detail": problem.detail}]
	return {
		"status": problem.status,
		"code": problem.code,
		"detail": problem.detail,
		"errors": errors,
		**problem.extensions,  # a stale record's current version and document
	}

"""Bulk upserts with one result per input record.

Non-atomic: each record runs in its own savepoint, so a failing record is rolled back alone and the
others are kept. Atomic: every record is still tried (so all errors are reported at once), then any
failure undoes the whole batch.
"""

import frappe
from frappe import _

from integration_hub.documents.exposure import Resource
from integration_hub.documents.upsert import upsert_record
from integration_hub.exceptions import BadRequest, PayloadTooLarge, ValidationFailed, problem_from_exception

SAVEPOINT = "integration_hub_bulk_record"


def bulk_upsert(resource: Resource, records: object, key_fields: tuple[str, ...], atomic: bool) -> list[dict]:
	if not isinstance(records, list):
		raise BadRequest(_("records must be a list of objects"), [{"pointer": "/records"}])
	if len(records) > resource.max_batch_size:
		raise PayloadTooLarge(
			_("At most {0} records may be sent at once to {1}; split the batch").format(
				resource.max_batch_size, resource.doctype
			),
			[{"pointer": "/records"}],
		)
	results = [_upsert_in_savepoint(resource, record, key_fields, index) for index, record in enumerate(records)]
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


def _upsert_in_savepoint(resource: Resource, record: object, key_fields: tuple[str, ...], index: int) -> dict:
	frappe.db.savepoint(SAVEPOINT)
	try:
		result = upsert_record(resource, record, key_fields, pointer=f"/records/{index}")
	except Exception as e:
		frappe.db.rollback(save_point=SAVEPOINT)
		problem = problem_from_exception(e)
		if problem.status >= 500:
			frappe.log_error(title=f"integration_hub bulk_upsert: {resource.doctype} record {index}")
		return {"index": index, "status": "failed", "error": _record_error(problem, index)}
	frappe.db.release_savepoint(SAVEPOINT)
	return {"index": index, "status": result.status, "name": result.name}


def _record_error(problem, index: int) -> dict:
	errors = problem.errors or [{"pointer": f"/records/{index}", "detail": problem.detail}]
	return {"status": problem.status, "code": problem.code, "detail": problem.detail, "errors": errors}

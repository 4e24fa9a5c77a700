from frappe.model.document import Document


class HubSyncRun(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		created_count: DF.Int
		cursor_after: DF.LongText | None
		cursor_before: DF.LongText | None
		deleted_count: DF.Int
		direction: DF.Data | None
		error: DF.LongText | None
		failed_count: DF.Int
		finished: DF.Datetime | None
		job: DF.Link
		pushed_count: DF.Int
		record_errors: DF.Code | None
		records_read: DF.Int
		run_as: DF.Link | None
		skipped_count: DF.Int
		started: DF.Datetime | None
		status: DF.Literal["Running", "Succeeded", "Partial", "Failed"]
		trigger: DF.Literal["Schedule", "Manual"]
		unchanged_count: DF.Int
		updated_count: DF.Int
	# end: auto-generated types
	pass

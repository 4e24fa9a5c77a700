"""A document's life cycle through the API: submit, cancel, amend, create-and-submit in one call, and
submitted documents that change only where Frappe allows it (Allow on Submit)."""

import pytest

import frappe

from tests.factories import HubResourceFactory, UserFactory
from tests.fixtures_doctypes import EDITOR_ROLE, INVOICE, ITEM, OWNER_EDITOR_ROLE, READER_ROLE


@pytest.fixture
def invoices():
	"""Hub Test Invoice exposed with every operation, keyed by its customer's name."""
	return HubResourceFactory(
		document_type=INVOICE, key_fields="customer_name", allow_submit=1, allow_cancel=1
	)


def _invoice(customer: str, **values) -> dict:
	return {"customer_name": customer, "amount": 100, "rows": [{"item_code": "A", "qty": 1}], **values}


def _stored(name: str) -> frappe._dict:
	return frappe.db.get_value(
		INVOICE, name, ["docstatus", "amount", "tracking", "amended_from"], as_dict=True
	)


def test_create_and_submit_in_one_call(api, invoices):
	status, body = api("create_document", doctype=INVOICE, data=_invoice("One Call"), submit=True)
	assert status == 200, body
	assert body["message"]["status"] == "created" and body["message"]["doc"]["docstatus"] == 1
	assert _stored(body["message"]["name"]).docstatus == 1


def test_upsert_and_submit_then_again_is_unchanged(api, invoices):
	status, body = api("upsert", doctype=INVOICE, data=_invoice("Upserted"), submit=True)
	assert status == 200 and body["message"]["status"] == "created", body
	name = body["message"]["name"]
	status, body = api("upsert", doctype=INVOICE, data=_invoice("Upserted"), submit=True)
	assert (status, body["message"]["status"], body["message"]["name"]) == (200, "unchanged", name)
	assert _stored(name).docstatus == 1


def test_an_unchanged_draft_upserted_with_submit_is_submitted(api, invoices):
	_status, body = api("upsert", doctype=INVOICE, data=_invoice("Draft First"))
	assert body["message"]["doc"]["docstatus"] == 0
	status, body = api("upsert", doctype=INVOICE, data=_invoice("Draft First"), submit=True)
	assert (status, body["message"]["status"]) == (200, "submitted"), body


def test_submit_cancel_and_amend(api, invoices):
	_status, body = api("upsert", doctype=INVOICE, data=_invoice("Life Cycle"))
	name = body["message"]["name"]

	status, body = api("submit_document", doctype=INVOICE, name=name)
	assert (status, body["message"]["status"]) == (200, "submitted"), body
	status, body = api("submit_document", doctype=INVOICE, key={"customer_name": "Life Cycle"})
	assert (status, body["message"]["status"]) == (200, "unchanged"), "submitting twice is harmless"

	status, body = api("cancel_document", doctype=INVOICE, name=name)
	assert (status, body["message"]["status"], _stored(name).docstatus) == (200, "cancelled", 2), body
	status, body = api("cancel_document", doctype=INVOICE, name=name)
	assert (status, body["message"]["status"]) == (200, "unchanged")

	status, body = api("amend_document", doctype=INVOICE, name=name, data={"amount": 90}, submit=True)
	assert status == 200, body
	amended = body["message"]
	assert amended["name"] == f"{name}-1", "Frappe's amendment name"
	assert (amended["doc"]["amended_from"], amended["doc"]["amount"], amended["doc"]["docstatus"]) == (
		name,
		90,
		1,
	)


def test_a_key_names_the_amendment_not_the_cancelled_document_it_amends(api, invoices):
	_status, body = api("upsert", doctype=INVOICE, data=_invoice("Amended Key"), submit=True)
	original = body["message"]["name"]
	api("cancel_document", doctype=INVOICE, name=original)
	_status, body = api("amend_document", doctype=INVOICE, name=original, data={"amount": 80})
	amendment = body["message"]["name"]
	key = {"customer_name": "Amended Key"}

	status, body = api("get_document", doctype=INVOICE, key=key)
	assert (status, body["message"]["name"]) == (200, amendment), body
	status, body = api("upsert", doctype=INVOICE, data={**key, "amount": 85}, submit=True)
	assert (status, body["message"]["name"], body["message"]["status"]) == (200, amendment, "updated"), body
	assert (_stored(amendment).amount, _stored(amendment).docstatus) == (85, 1)
	assert (_stored(original).amount, _stored(original).docstatus) == (100, 2), "the cancelled one is left"


def test_a_submitted_document_changes_only_in_its_allow_on_submit_fields(api, invoices):
	_status, body = api("upsert", doctype=INVOICE, data=_invoice("Honest"), submit=True)
	name = body["message"]["name"]

	status, body = api(
		"upsert", doctype=INVOICE, data={"customer_name": "Honest", "amount": 5, "tracking": "X"}
	)
	assert status == 409, body
	assert [e["pointer"] for e in body["errors"]] == ["/data/amount"], "names the field, not tracking"
	assert _stored(name).amount == 100 and not _stored(name).tracking, "nothing written"

	status, body = api("upsert", doctype=INVOICE, data={"customer_name": "Honest", "tracking": "1Z999"})
	assert (status, body["message"]["status"]) == (200, "updated"), body
	assert (_stored(name).tracking, _stored(name).docstatus) == ("1Z999", 1)

	status, body = api("upsert", doctype=INVOICE, data={"customer_name": "Honest", "rows": []})
	assert status == 409 and body["errors"][0]["pointer"] == "/data/rows", body


def test_a_cancelled_document_is_never_updated(api, invoices):
	_status, body = api("upsert", doctype=INVOICE, data=_invoice("Cancelled"), submit=True)
	name = body["message"]["name"]
	api("cancel_document", doctype=INVOICE, name=name)
	status, body = api("upsert", doctype=INVOICE, data={"customer_name": "Cancelled", "tracking": "late"})
	assert status == 409 and "cancelled" in body["detail"], body
	status, body = api("submit_document", doctype=INVOICE, name=name)
	assert status == 409, body
	status, body = api("upsert", doctype=INVOICE, data=_invoice("Cancelled"))
	assert (status, body["message"]["status"]) == (200, "unchanged"), "nothing to change is not a conflict"


def test_a_write_whose_submit_is_refused_writes_nothing(api, as_user, invoices):
	writer = UserFactory(roles=[OWNER_EDITOR_ROLE])  # may create, may not submit
	with as_user(writer.name):
		status, body = api(
			"create_document", doctype=INVOICE, data=_invoice("Not Mine To Submit"), submit=True
		)
	assert status == 403, body
	assert not frappe.db.exists(INVOICE, {"customer_name": "Not Mine To Submit"})


@pytest.mark.parametrize(
	("resource_values", "roles", "endpoint"),
	[
		({"allow_submit": 0}, [EDITOR_ROLE], "submit_document"),
		({"allow_cancel": 0}, [EDITOR_ROLE], "cancel_document"),
		({}, [READER_ROLE], "submit_document"),
		({}, [READER_ROLE], "cancel_document"),
	],
)
def test_transitions_need_exposure_and_permission(api, as_user, resource_values, roles, endpoint):
	exposure = {"allow_submit": 1, "allow_cancel": 1, **resource_values}
	HubResourceFactory(document_type=INVOICE, key_fields="customer_name", **exposure)
	doc = frappe.get_doc({"doctype": INVOICE, **_invoice(f"Guarded {endpoint}")}).insert()
	if endpoint == "cancel_document":
		doc.submit()
	with as_user(UserFactory(roles=roles).name):
		status, body = api(endpoint, doctype=INVOICE, name=doc.name)
	assert status == 403, body
	assert frappe.db.get_value(INVOICE, doc.name, "docstatus") == doc.docstatus


def test_a_doctype_that_is_not_submittable_says_so(api, exposed_items):
	status, body = api("create_document", doctype=ITEM, data={"code": "NOT-SUBMITTABLE"}, submit=True)
	assert status in (403, 422), body  # the resource cannot allow submit on it: no submit permission
	assert not frappe.db.exists(ITEM, {"code": "NOT-SUBMITTABLE"})


def test_bulk_upsert_submits_each_record_or_writes_nothing_for_it(api, invoices):
	records = [_invoice("Bulk A"), _invoice("Bulk B", amount="not a number"), _invoice("Bulk C")]
	status, body = api("bulk_upsert", doctype=INVOICE, records=records, submit=True)
	assert status == 200, body
	assert [r["status"] for r in body["message"]["results"]] == ["created", "failed", "created"]
	assert [
		frappe.db.get_value(INVOICE, {"customer_name": c}, "docstatus") for c in ("Bulk A", "Bulk C")
	] == [1, 1]
	assert not frappe.db.exists(INVOICE, {"customer_name": "Bulk B"})

"""ERPNext transactions through the hub, end to end: created and submitted in one call (safe to retry),
cancelled and amended, with the subscriber receiving each transition in order; ERPNext's own
validation (stock that is not there) as a 422 that moves nothing."""

import frappe

from tests.erpnext.conftest import call, company
from tests.factories import HubSubscriptionFactory


def test_a_billing_platform_submits_cancels_and_amends_an_invoice(erp, stock, receiver, run_background_jobs):
	erp.expose("Sales Invoice", operations="rcsx")
	billing = erp.client(["Accounts Manager"], {"Sales Invoice": "rcsx"})
	subscription = erp.committed.track(
		HubSubscriptionFactory(
			document_type="Sales Invoice",
			endpoint_url=receiver.url,
			send_on_insert=0,
			send_on_update=0,
			send_on_delete=0,
			send_on_submit=1,
			send_on_cancel=1,
		)
	)
	erp.committed.commit()
	invoice = {
		"customer": stock.customer,
		"company": company(),
		"due_date": frappe.utils.add_days(frappe.utils.today(), 30),
		"items": [{"item_code": stock.item, "qty": 2, "rate": 40}],
	}
	headers = {"Idempotency-Key": f"invoice-{erp.suffix}"}

	first = call(
		billing, "create_document", doctype="Sales Invoice", data=invoice, submit=True, headers=headers
	)
	retried = call(
		billing, "create_document", doctype="Sales Invoice", data=invoice, submit=True, headers=headers
	)
	assert first["name"] == retried["name"] and first["doc"]["docstatus"] == 1
	frappe.db.rollback()
	assert frappe.db.count("Sales Invoice", {"customer": stock.customer}) == 1, "booked once"
	assert frappe.db.get_value("Sales Invoice", first["name"], "outstanding_amount") == 80
	assert frappe.db.count("GL Entry", {"voucher_no": first["name"], "is_cancelled": 0}) >= 2, "the ledger"

	cancelled = call(billing, "cancel_document", doctype="Sales Invoice", name=first["name"])
	assert cancelled["status"] == "cancelled" and cancelled["doc"]["docstatus"] == 2
	amended = call(
		billing,
		"amend_document",
		doctype="Sales Invoice",
		name=first["name"],
		data={"items": [{"item_code": stock.item, "qty": 3, "rate": 40}]},
		submit=True,
	)
	assert amended["name"] == f"{first['name']}-1" and amended["doc"]["grand_total"] == 120

	erp.committed.commit()
	run_background_jobs()
	events = [
		(r.json()["type"], r.json()["data"]["name"])
		for r in receiver.received
		if r.json()["data"]["name"] in (first["name"], amended["name"])
	]
	# In order across the amendment too: an amendment's deliveries are ordered with the document it
	# amends (Hub Delivery's sequence_key), so the original's cancellation reaches the subscriber first.
	assert events == [
		("sales_invoice.submitted", first["name"]),
		("sales_invoice.cancelled", first["name"]),
		("sales_invoice.submitted", amended["name"]),
	]
	keys = frappe.get_all("Hub Delivery", filters={"subscription": subscription.name}, pluck="sequence_key")
	assert set(keys) == {first["name"]}
	assert frappe.db.count("Hub Delivery", {"subscription": subscription.name, "status": "Succeeded"}) == 3


def test_a_transfer_of_more_than_is_in_stock_is_a_422_that_moves_nothing(erp, stock):
	erp.expose("Stock Entry", operations="rcs")
	scanner = erp.client(["Stock User"], {"Stock Entry": "rcs"})
	abbr = frappe.db.get_value("Company", company(), "abbr")
	receipt = call(
		scanner,
		"create_document",
		doctype="Stock Entry",
		submit=True,
		data={
			"stock_entry_type": "Material Receipt",
			"company": company(),
			"items": [{"item_code": stock.item, "qty": 5, "t_warehouse": stock.warehouse, "basic_rate": 10}],
		},
	)
	assert receipt["doc"]["docstatus"] == 1
	problem = call(
		scanner,
		"create_document",
		doctype="Stock Entry",
		submit=True,
		data={
			"stock_entry_type": "Material Transfer",
			"company": company(),
			"items": [
				{
					"item_code": stock.item,
					"qty": 8,
					"s_warehouse": stock.warehouse,
					"t_warehouse": f"Finished Goods - {abbr}",
				}
			],
		},
		expect=422,
	)
	assert problem["code"] == "VALIDATION_FAILED" and "needed" in problem["detail"].lower(), problem
	frappe.db.rollback()
	assert (
		frappe.db.get_value("Bin", {"item_code": stock.item, "warehouse": stock.warehouse}, "actual_qty") == 5
	)
	moved = frappe.db.count("Stock Entry Detail", {"item_code": stock.item, "s_warehouse": stock.warehouse})
	assert moved == 0, "the refused transfer left no entry behind"

"""ERPNext's business methods through the hub (Hub Method), as the outside systems use them: a logistics
platform makes a Delivery Note from a submitted Sales Order with ERPNext's own mapper and submits it in
the same call, then posts tracking data onto the submitted note; a mobile sales app prices an order with
get_item_details; `ignore_permissions` is never taken from a caller."""

import frappe
from frappe.utils import add_days, today

from tests.erpnext.conftest import call, company

SALES_ORDER = "erpnext.selling.doctype.sales_order.sales_order"
GET_ITEM_DETAILS = "erpnext.stock.get_item_details.get_item_details"


def _receive(stock, qty: int) -> None:
	"""Stock in the Stores warehouse, as the warehouse would have received it (set-up, not the scenario)."""
	frappe.get_doc(
		{
			"doctype": "Stock Entry",
			"stock_entry_type": "Material Receipt",
			"company": company(),
			"items": [
				{"item_code": stock.item, "qty": qty, "t_warehouse": stock.warehouse, "basic_rate": 10}
			],
		}
	).insert().submit()


def _sales_order(stock, qty: int, rate: float | None = 40) -> dict:
	item = {"item_code": stock.item, "qty": qty, "warehouse": stock.warehouse}
	if rate is not None:
		item["rate"] = rate
	return {
		"customer": stock.customer,
		"company": company(),
		"transaction_date": today(),
		"delivery_date": add_days(today(), 7),
		"items": [item],
	}


def _allow_on_submit(committed, doctype: str, fieldname: str) -> None:
	"""Customize Form's "Allow on Submit", as an administrator sets it for a carrier's tracking field."""
	setter = {"doc_type": doctype, "field_name": fieldname, "property": "allow_on_submit"}
	frappe.make_property_setter(
		{
			"doctype": doctype,
			"fieldname": fieldname,
			"property": "allow_on_submit",
			"value": "1",
			"property_type": "Check",
		}
	)

	def remove() -> None:
		frappe.db.delete("Property Setter", setter)
		frappe.clear_cache(doctype=doctype)

	committed.on_cleanup(remove)
	frappe.clear_cache(doctype=doctype)


def test_logistics_delivers_a_sales_order_with_erpnexts_mapper(erp, stock):
	_receive(stock, 10)
	_allow_on_submit(erp.committed, "Delivery Note", "lr_no")
	erp.expose("Sales Order", operations="rcs")
	erp.expose("Delivery Note", operations="rcus")
	erp.expose_method(
		"make_delivery_note", f"{SALES_ORDER}.make_delivery_note", returns_doctype="Delivery Note"
	)
	erp.committed.commit()
	sales = erp.client(["Sales User"], {"Sales Order": "rcs"})
	logistics = erp.client(
		["Stock User"], {"Delivery Note": "rcus", "Sales Order": "r"}, methods=["make_delivery_note"]
	)
	order = call(sales, "create_document", doctype="Sales Order", data=_sales_order(stock, 4), submit=True)

	mapped = call(logistics, "call_method", method="make_delivery_note", args={"source_name": order["name"]})
	note = mapped["result"]
	assert note["doctype"] == "Delivery Note" and "name" not in note
	assert [(row["item_code"], row["qty"], row["against_sales_order"]) for row in note["items"]] == [
		(stock.item, 4, order["name"])
	]
	erp.committed.commit()  # a new snapshot: what the server committed
	assert not frappe.db.exists("Delivery Note", {"customer": stock.customer})  # nothing was saved

	headers = {"Idempotency-Key": f"deliver-{erp.suffix}"}
	body = {"method": "make_delivery_note", "args": {"source_name": order["name"]}}
	saved = [
		call(
			logistics,
			"call_method",
			**body,
			save=True,
			submit=True,
			data={"lr_no": "TRACK-1"},
			headers=headers,
		)
		for _attempt in range(2)  # a retry after a lost answer delivers nothing twice
	]
	assert saved[0] == saved[1]
	delivered = saved[0]["result"]
	assert (delivered["doc"]["docstatus"], delivered["doc"]["lr_no"]) == (1, "TRACK-1")
	erp.committed.commit()
	assert frappe.db.count("Delivery Note", {"customer": stock.customer, "docstatus": 1}) == 1
	assert frappe.db.get_value("Sales Order", order["name"], "per_delivered") == 100
	assert (
		frappe.db.get_value("Bin", {"item_code": stock.item, "warehouse": stock.warehouse}, "actual_qty") == 6
	)

	tracked = call(
		logistics, "upsert", doctype="Delivery Note", data={"name": delivered["name"], "lr_no": "TRACK-2"}
	)
	assert (tracked["status"], tracked["doc"]["lr_no"]) == ("updated", "TRACK-2")
	refused = call(
		logistics,
		"upsert",
		doctype="Delivery Note",
		data={"name": delivered["name"], "lr_no": "TRACK-3", "instructions": "Leave at the door"},
		expect=409,
	)
	assert refused["errors"][0]["pointer"] == "/data/instructions", refused


def test_a_mobile_app_prices_an_order_with_get_item_details(erp, stock):
	frappe.get_doc(
		{
			"doctype": "Item Price",
			"item_code": stock.item,
			"price_list": "Standard Selling",
			"price_list_rate": 25,
		}
	).insert()
	erp.expose("Sales Order", operations="rcs")
	erp.expose_method("get_item_details", GET_ITEM_DETAILS, only_reads=1)
	erp.committed.commit()
	mobile = erp.client(["Sales User"], {"Sales Order": "rcs"}, methods=["get_item_details"])
	currency = frappe.db.get_value("Company", company(), "default_currency")

	details = call(
		mobile,
		"call_method",
		method="get_item_details",
		args={
			"args": {
				"item_code": stock.item,
				"company": company(),
				"customer": stock.customer,
				"doctype": "Sales Order",
				"currency": currency,
				"price_list": "Standard Selling",
				"price_list_currency": currency,
				"conversion_rate": 1,
				"plc_conversion_rate": 1,
				"qty": 3,
				"transaction_date": today(),
			}
		},
	)["result"]
	assert details["price_list_rate"] == 25

	made_offline = {**_sales_order(stock, 3, rate=None), "selling_price_list": "Standard Selling"}
	orders = [
		call(
			mobile,
			"create_document",
			doctype="Sales Order",
			data=made_offline,
			submit=True,
			headers={"Idempotency-Key": f"offline-order-{erp.suffix}"},
		)
		for _attempt in range(2)  # the app retries after a lost answer
	]
	assert orders[0] == orders[1] and orders[0]["doc"]["docstatus"] == 1
	assert [(row["rate"], row["amount"]) for row in orders[0]["doc"]["items"]] == [(25, 75)]
	erp.committed.commit()
	assert frappe.db.count("Sales Order", {"customer": stock.customer}) == 1


def test_ignore_permissions_is_never_taken_from_a_caller(erp, stock):
	erp.expose("Sales Order", operations="rcs")
	erp.expose("Sales Invoice", operations="rcs")
	erp.expose_method(
		"make_sales_invoice", f"{SALES_ORDER}.make_sales_invoice", returns_doctype="Sales Invoice"
	)
	erp.committed.commit()
	assert frappe.db.get_value("Hub Method", "make_sales_invoice", "arguments") == (
		"source_name (required)\ntarget_doc"
	)
	billing = erp.client(
		["Accounts User", "Sales User"],
		{"Sales Order": "rcs", "Sales Invoice": "rcs"},
		methods=["make_sales_invoice"],
	)
	order = call(billing, "create_document", doctype="Sales Order", data=_sales_order(stock, 1), submit=True)
	refused = call(
		billing,
		"call_method",
		method="make_sales_invoice",
		args={"source_name": order["name"], "ignore_permissions": True},
		expect=400,
	)
	assert refused["errors"] == [
		{"pointer": "/args/ignore_permissions", "detail": "never taken from a caller"}
	]
	invoice = call(billing, "call_method", method="make_sales_invoice", args={"source_name": order["name"]})
	assert invoice["result"]["items"][0]["sales_order"] == order["name"]

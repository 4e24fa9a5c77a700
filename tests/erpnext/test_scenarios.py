"""The outside systems of an ERPNext hub, each as it would run, over HTTP with a Hub API key whose user
has only the ERPNext roles it needs: a warehouse scanner, a payment gateway (signed Stripe events), a
CRM reading receivables, an AI assistant over MCP, an IoT gateway. (Billing: test_transactions.py;
logistics and mobile sales: test_methods.py; CRM records: test_platform.py.)"""

import json

import frappe
from frappe.utils import add_days, add_months, today

from tests.erpnext.conftest import API, call, company, read
from tests.factories import HubInboundEndpointFactory, HubReportFactory, HubResourceFactory, UserFactory
from tests.fixtures_doctypes import ITEM
from tests.helpers import mcp_result
from tests.inbound.test_inbound import RECEIVE, signed

STOCK_BALANCE = "erpnext.stock.utils.get_stock_balance"
PAYMENT_ENTRY = "erpnext.accounts.doctype.payment_entry.payment_entry.get_payment_entry"


def _warehouse(name: str) -> str:
	return f"{name} - {frappe.db.get_value('Company', company(), 'abbr')}"


def _stock_entry(purpose: str, stock, qty: int, source: str | None, target: str | None) -> dict:
	row = {"item_code": stock.item, "qty": qty, "basic_rate": 10}
	row |= {"s_warehouse": source} if source else {}
	row |= {"t_warehouse": target} if target else {}
	return {"stock_entry_type": purpose, "company": company(), "items": [row]}


def _bin_qty(item: str, warehouse: str) -> float:
	return frappe.db.get_value("Bin", {"item_code": item, "warehouse": warehouse}, "actual_qty") or 0


def test_a_warehouse_scanner_receives_moves_and_counts_stock(erp, stock):
	barcode = f"SCAN-{erp.suffix}"
	item = frappe.get_doc("Item", stock.item)
	item.append("barcodes", {"barcode": barcode})
	item.save()
	erp.expose("Item", key_fields="item_code", operations="r")
	erp.expose("Stock Entry", operations="rcs")
	erp.expose("Bin", operations="r")
	erp.expose_method("get_stock_balance", STOCK_BALANCE, only_reads=1)
	erp.committed.track(HubReportFactory(report_name="stock_balance", report="Stock Balance"))
	erp.committed.commit()
	scanner = erp.client(
		["Stock User"],
		{"Item": "r", "Stock Entry": "rcs", "Bin": "r"},
		methods=["get_stock_balance"],
		reports=["stock_balance"],
	)
	stores, finished = stock.warehouse, _warehouse("Finished Goods")

	found = read(scanner, "list_documents", doctype="Item", filters={"barcodes.barcode": barcode})
	assert [row["name"] for row in found["data"]] == [stock.item]
	receipt = _stock_entry("Material Receipt", stock, 10, None, stores)
	call(scanner, "create_document", doctype="Stock Entry", data=receipt, submit=True)
	transfer = _stock_entry("Material Transfer", stock, 4, stores, finished)
	moved = call(scanner, "create_document", doctype="Stock Entry", data=transfer, submit=True)
	assert moved["doc"]["docstatus"] == 1

	too_many = _stock_entry("Material Transfer", stock, 100, stores, finished)
	refused = call(scanner, "create_document", doctype="Stock Entry", data=too_many, submit=True, expect=422)
	assert "needed in Warehouse" in refused["detail"] or "Insufficient" in refused["detail"], refused
	erp.committed.commit()
	assert (_bin_qty(stock.item, stores), _bin_qty(stock.item, finished)) == (6, 4)

	bins = read(
		scanner,
		"list_documents",
		doctype="Bin",
		filters={"item_code": stock.item},
		fields=["warehouse", "actual_qty"],
	)
	assert {row["warehouse"]: row["actual_qty"] for row in bins["data"]} == {stores: 6, finished: 4}
	balance = call(
		scanner,
		"call_method",
		method="get_stock_balance",
		args={"item_code": stock.item, "warehouse": stores},
	)
	assert balance["result"] == 6
	report = read(
		scanner,
		"run_report",
		report="stock_balance",
		filters={
			"company": company(),
			"from_date": add_months(today(), -1),
			"to_date": today(),
			"item_code": stock.item,
		},
	)
	assert {row["warehouse"]: row["bal_qty"] for row in report["rows"]} == {stores: 6, finished: 4}
	assert report["total"]["bal_qty"] == 10
	assert {"fieldname": "bal_qty", "label": "Balance Qty", "fieldtype": "Float", "options": None} in report[
		"columns"
	]


def _submitted_invoice(stock, rate: float) -> str:
	invoice = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": stock.customer,
			"company": company(),
			"due_date": add_days(today(), 30),
			"items": [{"item_code": stock.item, "qty": 2, "rate": rate}],
		}
	).insert()
	invoice.submit()
	return invoice.name


def test_a_payment_gateway_pays_an_invoice_once_however_often_stripe_sends_the_event(
	erp, stock, http, run_background_jobs
):
	erp.expose("Payment Entry", operations="rcs")
	erp.expose_method("get_payment_entry", PAYMENT_ENTRY, returns_doctype="Payment Entry")
	gateway = erp.committed.track(UserFactory(roles=["Accounts User"]))
	secret = "whsec_" + frappe.generate_hash(length=24)
	endpoint = erp.committed.track(
		HubInboundEndpointFactory(
			verification="Stripe",
			secret=secret,
			event_id_path="id",
			records_path="data.object",
			action="Call Method",
			method="get_payment_entry",
			submit_returned=1,
			run_as=gateway.name,
			document_type=None,
			field_map=[
				("metadata.invoice", "dn", "", "", 0),
				("", "dt", "constant", "Sales Invoice", 0),
				("id", "data.reference_no", "", "", 0),
			],
		)
	)
	erp.committed.on_cleanup(lambda: frappe.db.delete("Hub Inbound Event", {"endpoint": endpoint.name}))
	invoice = _submitted_invoice(stock, 40)
	erp.committed.commit()

	event_id = f"evt_{erp.suffix}"
	body = json.dumps(
		{
			"id": event_id,
			"type": "payment_intent.succeeded",
			"data": {
				"object": {
					"id": f"pi_{erp.suffix}",
					"amount_received": 8000,
					"metadata": {"invoice": invoice},
				}
			},
		}
	).encode()
	client = http()
	answers = [
		client.post(
			f"{RECEIVE}?endpoint={endpoint.name}", data=body, headers=signed("Stripe", secret, body, event_id)
		)
		for _attempt in range(3)  # Stripe retries until it hears 2xx; a gateway may also send it twice
	]
	assert all(answer.status_code in (200, 202) for answer in answers), [a.text for a in answers]
	erp.committed.commit()
	run_background_jobs()
	erp.committed.commit()

	event = frappe.get_all(
		"Hub Inbound Event", filters={"endpoint": endpoint.name}, fields=["status", "result", "error"]
	)
	assert [e.status for e in event] == ["Processed"], event
	payments = frappe.get_all(
		"Payment Entry Reference",
		filters={"reference_name": invoice, "docstatus": 1},
		fields=["parent", "allocated_amount"],
	)
	assert [p.allocated_amount for p in payments] == [80]
	assert frappe.db.get_value("Payment Entry", payments[0].parent, "reference_no") == f"pi_{erp.suffix}"
	assert frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount") == 0


def test_a_crm_reads_a_customers_receivables(erp, stock):
	erp.committed.track(HubReportFactory(report_name="accounts_receivable", report="Accounts Receivable"))
	first, second = _submitted_invoice(stock, 40), _submitted_invoice(stock, 25)
	erp.committed.commit()
	crm = erp.client(["Accounts User"], {}, reports=["accounts_receivable"])
	filters = {
		"company": company(),
		"report_date": today(),
		"party_type": "Customer",
		"party": [stock.customer],
	}

	report = read(crm, "run_report", report="accounts_receivable", filters=filters)
	outstanding = {row["voucher_no"]: row["outstanding"] for row in report["rows"]}
	assert outstanding == {first: 80, second: 50}
	assert report["total"]["outstanding"] == 130
	as_csv = crm.get(
		f"{API}.run_report",
		params={"report": "accounts_receivable", "filters": json.dumps(filters), "format": "csv"},
	)
	assert as_csv.status_code == 200 and first in as_csv.text
	missing = read(
		crm, "run_report", report="accounts_receivable", filters={"report_date": today()}, expect=400
	)
	assert missing["errors"] == [{"pointer": "/filters/company", "detail": "required"}]


def test_an_ai_assistant_sees_methods_and_reports_as_tools_and_submits_where_its_key_allows(erp, stock):
	erp.expose("Sales Invoice", operations="rcsx")
	erp.expose_method("get_stock_balance", STOCK_BALANCE, only_reads=1)
	erp.committed.track(HubReportFactory(report_name="accounts_receivable", report="Accounts Receivable"))
	erp.committed.commit()
	assistant = erp.client(
		["Accounts Manager", "Stock User"],
		{"Sales Invoice": "rcs"},
		methods=["get_stock_balance"],
		reports=["accounts_receivable"],
	)
	reader = erp.client(["Accounts Manager"], {"Sales Invoice": "rc"})

	tools = {tool["name"]: tool for tool in mcp_result(assistant, "tools/list", {})["tools"]}
	assert {"call_method", "run_report", "submit_document"} <= set(tools)
	assert "cancel_document" not in tools  # the key has no cancel scope
	yours = described(assistant)
	assert [m["method"] for m in yours["methods"]] == ["get_stock_balance"]
	assert [r["report"] for r in yours["reports"]] == ["accounts_receivable"]
	assert described(assistant, report="accounts_receivable")["filters"]["required"] == ["company"]
	arguments = described(assistant, method="get_stock_balance")["arguments"]["properties"]["args"]
	assert {"item_code", "warehouse"} <= set(arguments["properties"])
	balance = mcp_result(
		assistant,
		"tools/call",
		{
			"name": "call_method",
			"arguments": {
				"method": "get_stock_balance",
				"args": {"item_code": stock.item, "warehouse": stock.warehouse},
			},
		},
	)
	assert balance["isError"] is False, balance
	assert isinstance(balance["structuredContent"]["result"], int | float)

	draft = {
		"customer": stock.customer,
		"company": company(),
		"due_date": add_days(today(), 30),
		"items": [{"item_code": stock.item, "qty": 1, "rate": 15}],
	}
	made = mcp_result(
		assistant,
		"tools/call",
		{"name": "create_document", "arguments": {"doctype": "Sales Invoice", "data": draft}},
	)
	name = made["structuredContent"]["name"]
	submitted = mcp_result(
		assistant,
		"tools/call",
		{"name": "submit_document", "arguments": {"doctype": "Sales Invoice", "name": name}},
	)
	assert submitted["isError"] is False, submitted
	assert submitted["structuredContent"]["status"] == "submitted"
	receivables = mcp_result(
		assistant,
		"tools/call",
		{
			"name": "run_report",
			"arguments": {
				"report": "accounts_receivable",
				"filters": {
					"company": company(),
					"report_date": today(),
					"party_type": "Customer",
					"party": [stock.customer],
				},
			},
		},
	)
	assert receivables["isError"] is False, receivables
	assert name in [row["voucher_no"] for row in receivables["structuredContent"]["rows"]]

	other = call(reader, "create_document", doctype="Sales Invoice", data=draft)
	refused = mcp_result(
		reader,
		"tools/call",
		{"name": "submit_document", "arguments": {"doctype": "Sales Invoice", "name": other["name"]}},
	)
	assert refused["isError"] is True and refused["structuredContent"]["error"]["status"] in (400, 403), (
		refused
	)
	erp.committed.commit()
	assert frappe.db.get_value("Sales Invoice", other["name"], "docstatus") == 0


def described(client, **arguments) -> dict:
	"""describe_resource's answer to `client` (an MCP call over HTTP)."""
	result = mcp_result(client, "tools/call", {"name": "describe_resource", "arguments": arguments})
	assert result["isError"] is False, result
	return result["structuredContent"]


def test_an_iot_gateway_sends_a_thousand_readings_in_one_call(erp):
	erp.committed.track(HubResourceFactory(max_batch_size=1000))
	erp.committed.commit()
	gateway = erp.client(["System Manager"], {ITEM: "rcu"})
	batch = f"IOT-{erp.suffix}"
	readings = [{"code": f"{batch}-{n:04d}", "title": "sensor", "qty": n} for n in range(1000)]
	answer = call(gateway, "bulk_upsert", doctype=ITEM, records=readings)
	assert [r["status"] for r in answer["results"]].count("created") == 1000
	again = call(gateway, "bulk_upsert", doctype=ITEM, records=readings)
	assert {r["status"] for r in again["results"]} == {"unchanged"}
	erp.committed.commit()
	assert frappe.db.count(ITEM, {"code": ["like", f"{batch}-%"]}) == 1000
	erp.committed.on_cleanup(lambda: frappe.db.delete(ITEM, {"code": ["like", f"{batch}-%"]}))

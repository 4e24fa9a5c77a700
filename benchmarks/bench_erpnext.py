"""Issue 26's ERPNext transactions, on a site with ERPNext set up (benchmarks/run installs it where the
bench has it); elsewhere one row says they did not run. The benchmark user gets ERPNext's Accounts
and Stock roles; every path writes as that user.

(26a) Create and submit one Sales Invoice (one item, no stock update) per call: the hub's
      `create_document` with `"submit": true` (one request) against Frappe's REST way (POST
      /api/resource/Sales Invoice, then POST frappe.client.submit with the document it answered: two
      requests) and against the in-process loop (`doc.insert(); doc.submit()`, committed per invoice, as
      each HTTP call commits). INVOICES per path and round; each round runs the paths A B C C B A, so
      a machine slowing down or speeding up weighs on all alike. Targets: >= 1.5x REST, >= 0.9x in-process.
(26b) `bulk_upsert` (mode create) with `"submit": true` of STOCK_ENTRIES Material Receipts in one call
      against the in-process loop of insert + submit, committed once (as the call is one transaction).
      The two alternate in order by round. Target: >= 1.0x.

The median round's ratio counts; ROUNDS rounds after a warm-up.
"""

import statistics

import frappe
from frappe.utils import add_days, today

from benchmarks.bench_documents import expect_ok
from benchmarks.harness import SERVER_WORKERS, Context, elapsed, rounds_text, row

ROUNDS = 3
INVOICES = 20
STOCK_ENTRIES = 200
ERPNEXT_ROLES = ("Accounts User", "Accounts Manager", "Stock User", "Stock Manager", "Sales User")
API = "/api/method/integration_hub.api.v1"
HUB_VS_REST = 1.5
HUB_VS_IN_PROCESS = 0.9
BULK_VS_IN_PROCESS = 1.0


def run(context: Context) -> list[dict]:
	if "erpnext" not in frappe.get_installed_apps():
		return [
			row(
				"(26a, 26b) ERPNext transactions: not run, ERPNext is not installed on this site",
				"-",
				"-",
				None,
			)
		]
	world = prepare(context)
	client = context.http()
	return [invoice_row(context, client, world), stock_entry_row(context, client, world)]


def prepare(context: Context) -> frappe._dict:
	user = frappe.get_doc("User", context.user)
	user.add_roles(*ERPNEXT_ROLES)
	company = frappe.db.get_single_value("Global Defaults", "default_company")
	abbr = frappe.db.get_value("Company", company, "abbr")
	item = "BENCH-ITEM"
	if not frappe.db.exists("Item", item):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": item,
				"item_group": "Products",
				"stock_uom": "Nos",
				"is_stock_item": 1,
			}
		).insert()
	customer = "Benchmark Customer"
	if not frappe.db.exists("Customer", customer):
		frappe.get_doc(
			{"doctype": "Customer", "customer_name": customer, "customer_type": "Company"}
		).insert()
	for doctype in ("Sales Invoice", "Stock Entry"):
		if not frappe.db.exists("Hub Resource", doctype):
			frappe.get_doc(
				{
					"doctype": "Hub Resource",
					"document_type": doctype,
					"allow_read": 1,
					"allow_create": 1,
					"allow_submit": 1,
					"max_batch_size": 1000,
				}
			).insert()
	frappe.db.commit()
	return frappe._dict(company=company, item=item, customer=customer, warehouse=f"Stores - {abbr}")


# --- (26a) one invoice per call ------------------------------------------------------------


def invoice(world) -> dict:
	return {
		"customer": world.customer,
		"company": world.company,
		"due_date": add_days(today(), 30),
		"items": [{"item_code": world.item, "qty": 1, "rate": 10}],
	}


def invoice_row(context: Context, client, world) -> dict:
	def hub() -> None:
		body = {"doctype": "Sales Invoice", "data": invoice(world), "submit": True}
		response = client.post(f"{API}.create_document", json=body)
		expect_ok(response, "create_document")
		if response.json()["message"]["doc"]["docstatus"] != 1:
			raise AssertionError("create_document did not submit the invoice")

	def rest() -> None:
		created = client.post("/api/resource/Sales Invoice", json=invoice(world))
		expect_ok(created, "POST /api/resource/Sales Invoice")
		submitted = client.post("/api/method/frappe.client.submit", json={"doc": created.json()["data"]})
		expect_ok(submitted, "frappe.client.submit")

	def in_process() -> None:
		with context.as_benchmark_user():
			doc = frappe.get_doc({"doctype": "Sales Invoice", **invoice(world)}).insert()
			doc.submit()
			frappe.db.commit()

	paths = {"hub": hub, "rest": rest, "in_process": in_process}
	for _ in range(2 * SERVER_WORKERS):  # warm both web server workers on every path
		for path in paths.values():
			path()
	rates: dict[str, list[float]] = {path: [] for path in paths}
	vs_rest, vs_in_process = [], []
	for round_number in range(ROUNDS):
		seconds = dict.fromkeys(paths, 0.0)
		for name in [*paths, *reversed(list(paths))]:
			seconds[name] += elapsed(lambda name=name: [paths[name]() for _ in range(INVOICES)])
		round_rates = {name: 2 * INVOICES / seconds[name] for name in paths}
		for name, rate in round_rates.items():
			rates[name].append(rate)
		vs_rest.append(round_rates["hub"] / round_rates["rest"])
		vs_in_process.append(round_rates["hub"] / round_rates["in_process"])
		context.log(
			f"round {round_number + 1}/{ROUNDS}: invoices/s hub {round_rates['hub']:.1f}, REST "
			f"{round_rates['rest']:.1f}, in-process {round_rates['in_process']:.1f}"
		)
	ratio_rest, ratio_in_process = statistics.median(vs_rest), statistics.median(vs_in_process)
	return row(
		"(26a) create + submit one Sales Invoice: create_document submit=true vs REST (POST + "
		"frappe.client.submit); beside it vs in-process insert()+submit()",
		f"REST {statistics.median(rates['rest']):.1f}/s; in-process {statistics.median(rates['in_process']):.1f}/s",
		f"hub {statistics.median(rates['hub']):.1f}/s; vs REST rounds {rounds_text(vs_rest)}; vs in-process "
		f"{ratio_in_process:.2f}x (rounds {rounds_text(vs_in_process)}, target >= {HUB_VS_IN_PROCESS}x: "
		f"{'met' if ratio_in_process >= HUB_VS_IN_PROCESS else 'MISSED'})",
		ratio_rest,
		f">= {HUB_VS_REST}x",
		ratio_rest >= HUB_VS_REST and ratio_in_process >= HUB_VS_IN_PROCESS,
	)


# --- (26b) 200 stock entries submitted in one call -------------------------------------------


def stock_entries(world) -> list[dict]:
	return [
		{
			"stock_entry_type": "Material Receipt",
			"company": world.company,
			"items": [{"item_code": world.item, "qty": 1, "t_warehouse": world.warehouse, "basic_rate": 10}],
		}
		for _ in range(STOCK_ENTRIES)
	]


def stock_entry_row(context: Context, client, world) -> dict:
	def hub() -> None:
		body = {"doctype": "Stock Entry", "records": stock_entries(world), "mode": "create", "submit": True}
		response = client.post(f"{API}.bulk_upsert", json=body)
		expect_ok(response, "bulk_upsert")
		statuses = {result["status"] for result in response.json()["message"]["results"]}
		if statuses != {"created"}:
			raise AssertionError(f"bulk_upsert answered {statuses}: {response.text[:500]}")

	def in_process() -> None:
		with context.as_benchmark_user():
			for record in stock_entries(world):
				frappe.get_doc({"doctype": "Stock Entry", **record}).insert().submit()
			frappe.db.commit()

	hub(), in_process()  # warm-up
	ratios, rates = [], {"hub": [], "in_process": []}
	for round_number in range(ROUNDS):
		order = [("hub", hub), ("in_process", in_process)]
		if round_number % 2:
			order.reverse()
		seconds = {name: elapsed(path) for name, path in order}
		for name in seconds:
			rates[name].append(STOCK_ENTRIES / seconds[name])
		ratios.append(seconds["in_process"] / seconds["hub"])
		context.log(
			f"round {round_number + 1}/{ROUNDS}: stock entries/s hub {rates['hub'][-1]:.1f}, "
			f"in-process {rates['in_process'][-1]:.1f}"
		)
	ratio = statistics.median(ratios)
	return row(
		f"(26b) {STOCK_ENTRIES} Stock Entries created and submitted: one bulk_upsert submit=true vs in-process loop",
		f"in-process {statistics.median(rates['in_process']):.1f}/s",
		f"bulk_upsert {statistics.median(rates['hub']):.1f}/s; rounds {rounds_text(ratios)}",
		ratio,
		f">= {BULK_VS_IN_PROCESS}x",
		ratio >= BULK_VS_IN_PROCESS,
	)

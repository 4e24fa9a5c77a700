"""Promise (ERPNext): concurrent submits that move the same stock neither fail nor duplicate, and leave
stock and ledgers consistent.

8 clients (threads, each its own HTTP connection, released together) create and submit 200 Sales
Invoices with stock update through `create_document` with `"submit": true` (each with its own
Idempotency-Key), against the same 5 items in one warehouse, through gunicorn with 4 workers.
ERPNext's submit locks each item's Bin and the ledgers in the order of the invoice's rows, and the rows
come in a random order, so InnoDB deadlocks now and then: the hub runs a deadlock's victim again
(api/endpoint.py). Figures: answers by status, deadlocks InnoDB counted, invoices per marker, and for
each item its Bin against its stock ledger and the quantity sold; debit against credit of the
invoices' General Ledger. Runs only on a site with ERPNext (tests/conftest.py says so otherwise)."""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import frappe
from frappe.utils import add_days, today

from tests.conftest import Committed
from tests.factories import HubAPIKeyFactory, HubResourceFactory, UserFactory
from tests.helpers import read_committed
from tests.production.support import API, state_figure
from tests.site_setup import COMPANY
from tests.web_server import Client, gunicorn

CLIENTS = 8
INVOICES = 200
ITEMS = 5
OPENING_STOCK = 1000
WEB_WORKERS = 4


@pytest.fixture(scope="module")
def shop(site):
	"""5 stocked items, a customer, Sales Invoice exposed, and a key of a user with ERPNext's roles."""
	committed = Committed()
	frappe.db.rollback()
	run = frappe.generate_hash(length=6)
	abbr = frappe.db.get_value("Company", COMPANY, "abbr")
	warehouse = f"Stores - {abbr}"
	items = []
	for n in range(ITEMS):
		items.append(
			frappe.get_doc(
				{
					"doctype": "Item",
					"item_code": f"P8-{run}-{n}",
					"item_group": "Products",
					"stock_uom": "Nos",
					"is_stock_item": 1,
					"valuation_rate": 10,
				}
			)
			.insert()
			.name
		)
	receipt = frappe.get_doc(
		{
			"doctype": "Stock Entry",
			"stock_entry_type": "Material Receipt",
			"company": COMPANY,
			"items": [
				{"item_code": item, "qty": OPENING_STOCK, "t_warehouse": warehouse, "basic_rate": 10}
				for item in items
			],
		}
	).insert()
	receipt.submit()
	customer = frappe.get_doc(
		{"doctype": "Customer", "customer_name": f"P8 Customer {run}", "customer_type": "Company"}
	).insert()
	if frappe.db.exists("Hub Resource", "Sales Invoice"):
		frappe.delete_doc("Hub Resource", "Sales Invoice", force=True)
	committed.track(
		HubResourceFactory(document_type="Sales Invoice", key_fields=None, allow_submit=1, allow_delete=0)
	)
	user = committed.track(UserFactory(roles=["Accounts User", "Stock User", "Sales User"]))
	key = committed.track(
		HubAPIKeyFactory(
			user=user.name,
			rate_limit_per_minute=100_000,
			scopes=[{"resource": "Sales Invoice", "allow_read": 1, "allow_create": 1, "allow_submit": 1}],
		)
	)
	committed.commit()
	yield frappe._dict(
		run=run, item_codes=items, warehouse=warehouse, customer=customer.name, token=key.flags.plain_token
	)
	committed.cleanup()


def test_eight_clients_submit_200_invoices_of_the_same_items_consistently(site, shop):
	marker = f"P8-{shop.run}"
	deadlocks_before = _status("Innodb_deadlocks")
	start = threading.Barrier(CLIENTS, timeout=120)
	plan = _invoices(shop, marker)
	with gunicorn(site=site, workers=WEB_WORKERS, cwd=Path.cwd(), request_timeout=300) as base_url:

		def client(number: int) -> list[tuple[int, str]]:
			answers = []
			with Client(base_url, site, timeout=300) as http:
				http.headers["Authorization"] = f"Bearer {shop.token}"
				start.wait()
				for index in range(number, INVOICES, CLIENTS):
					response = http.post(
						f"{API}.create_document",
						json={"doctype": "Sales Invoice", "data": plan[index], "submit": True},
						headers={"Idempotency-Key": f"{marker}-{index}"},
					)
					answers.append((response.status_code, response.text[:300]))
			return answers

		began = time.monotonic()
		with ThreadPoolExecutor(CLIENTS) as pool:
			answers = [a for result in pool.map(client, range(CLIENTS)) for a in result]
		seconds = time.monotonic() - began

	statuses = Counter(status for status, _text in answers)
	deadlocks = _status("Innodb_deadlocks") - deadlocks_before
	per_marker = read_committed(
		"select remarks, count(*) from `tabSales Invoice` where remarks like %s and docstatus = 1 group by 1",
		(f"{marker}-%",),
	)
	duplicated = [remark for remark, count in per_marker if count > 1]
	sold = Counter()
	for invoice in plan:
		for row in invoice["items"]:
			sold[row["item_code"]] += row["qty"]
	stock = {}
	for item in shop.item_codes:
		bin_qty = read_committed(
			"select actual_qty from `tabBin` where item_code = %s and warehouse = %s", (item, shop.warehouse)
		)[0][0]
		ledger_qty = read_committed(
			"select sum(actual_qty) from `tabStock Ledger Entry` where item_code = %s and warehouse = %s"
			" and is_cancelled = 0",
			(item, shop.warehouse),
		)[0][0]
		stock[item] = (float(bin_qty), float(ledger_qty), OPENING_STOCK - sold[item])
	debit, credit = read_committed(
		"select sum(gle.debit), sum(gle.credit) from `tabGL Entry` gle join `tabSales Invoice` si"
		" on si.name = gle.voucher_no where si.remarks like %s and gle.is_cancelled = 0",
		(f"{marker}-%",),
	)[0]
	inconsistent = {item: s for item, s in stock.items() if not (s[0] == s[1] == s[2])}
	state_figure(
		f"[8] ERPNext: {INVOICES} Sales Invoices with stock update created and submitted by {CLIENTS} clients "
		f"over {ITEMS} items, gunicorn {WEB_WORKERS} workers, in {seconds:.0f} s: answers {dict(statuses)}, "
		f"{deadlocks} deadlocks InnoDB counted (each run again by the hub), {len(per_marker)} invoices "
		f"submitted, {len(duplicated)} duplicated; Bin = stock ledger = opening - sold for "
		f"{ITEMS - len(inconsistent)} of {ITEMS} items; GL debit {debit} = credit {credit}"
	)
	assert statuses == {200: INVOICES}, [text for status, text in answers if status != 200][:3]
	assert len(per_marker) == INVOICES and not duplicated
	assert not inconsistent, inconsistent
	assert debit == credit and debit > 0


def _invoices(shop, marker: str) -> list[dict]:
	choose = random.Random(shop.run)
	invoices = []
	for index in range(INVOICES):
		items = choose.sample(shop.item_codes, choose.randint(2, 3))  # rows in a random order
		invoices.append(
			{
				"customer": shop.customer,
				"company": COMPANY,
				"due_date": add_days(today(), 30),
				"update_stock": 1,
				"set_warehouse": shop.warehouse,
				"remarks": f"{marker}-{index}",
				"items": [
					{"item_code": item, "qty": choose.randint(1, 2), "rate": 20, "warehouse": shop.warehouse}
					for item in items
				],
			}
		)
	return invoices


def _status(name: str) -> int:
	return int(read_committed(f"show global status like '{name}'")[0][1])

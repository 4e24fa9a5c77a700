"""What landed before, on real ERPNext DocTypes, as the outside systems use it (issue: the platform the
users run): natural keys on Customer, Contact (a read-only key) and Address, Items found and upserted by
barcode (a child-table key), a Sales Order made once by a mobile client that retries, the change feed and
webhook of a Sales Invoice submitted in the Desk."""

import json

import pytest

import frappe
from frappe.utils.password import update_password

from tests.erpnext.conftest import call, company, read
from tests.factories import HubSubscriptionFactory, UserFactory


def _customer(name: str) -> dict:
	return {
		"customer_name": name,
		"customer_type": "Company",
		"customer_group": "Commercial",
		"territory": "All Territories",
	}


# --- CRM: customers, their contacts and addresses --------------------------------------------------


def test_a_crm_upserts_a_customer_its_contact_and_address_by_natural_keys(erp):
	erp.expose("Customer", "customer_name")
	erp.expose("Contact", "email_id")
	erp.expose("Address", "address_title, address_type")
	crm = erp.client(["Sales User"], {"Customer": "rcu", "Contact": "rcu", "Address": "rcu"})
	name = erp.unique("Acme Corp")
	email = f"buyer-{erp.suffix}@acme.example.com"
	link = [{"link_doctype": "Customer", "link_name": name}]
	contact = {
		"email_id": email,
		"first_name": "Ada",
		"email_ids": [{"email_id": email, "is_primary": 1}],
		"links": link,
	}
	address = {
		"address_title": name,
		"address_type": "Billing",
		"address_line1": "1 Front Street",
		"city": "Toronto",
		"country": "Canada",
		"links": link,
	}

	first = [
		call(crm, "upsert", doctype="Customer", data=_customer(name)),
		call(crm, "upsert", doctype="Contact", data=contact),
		call(crm, "upsert", doctype="Address", data=address),
	]
	assert [r["status"] for r in first] == ["created", "created", "created"]
	assert first[1]["doc"]["email_id"] == email, "ERPNext took the key from email_ids"

	again = [
		call(crm, "upsert", doctype="Customer", data=_customer(name)),
		call(crm, "upsert", doctype="Contact", data={**contact, "last_name": "Lovelace"}),
		call(crm, "upsert", doctype="Address", data={**address, "city": "Ottawa"}),
	]
	assert [r["status"] for r in again] == ["unchanged", "updated", "updated"]
	assert [r["name"] for r in again] == [r["name"] for r in first]
	frappe.db.rollback()
	assert frappe.db.count("Contact", {"email_id": email}) == 1
	assert frappe.db.get_value("Contact", first[1]["name"], "full_name") == "Ada Lovelace"
	assert frappe.db.get_value("Address", first[2]["name"], "city") == "Ottawa"

	# The customer's contacts, found through the Dynamic Link table.
	listed = read(crm, "list_documents", doctype="Contact", filters={"links.link_name": name})
	assert [row["email_id"] for row in listed["data"]] == [email]


def test_a_new_contact_keyed_by_its_read_only_email_says_which_field_sets_it(erp):
	erp.expose("Contact", "email_id")
	crm = erp.client(["Sales User"], {"Contact": "rcu"})
	email = f"nobody-{erp.suffix}@example.com"
	problem = call(crm, "upsert", doctype="Contact", data={"email_id": email, "first_name": "No"}, expect=422)
	assert problem["errors"][0]["pointer"] == "/data/email_id"
	assert "email_ids" in problem["detail"], problem["detail"]
	frappe.db.rollback()
	assert not frappe.db.exists("Contact", {"first_name": "No", "email_id": email})


# --- a warehouse scanner: items by barcode ---------------------------------------------------------


def test_a_scanner_finds_an_item_by_barcode_and_upserts_by_it(erp):
	erp.expose("Item", "item_code")
	scanner = erp.client(["Item Manager", "Stock User"], {"Item": "rcu"})
	barcode, other = (f"40{frappe.generate_hash(length=11)}" for _ in range(2))
	item_code = erp.unique("SCAN-ITEM")
	created = call(
		scanner,
		"upsert",
		doctype="Item",
		data={
			"item_code": item_code,
			"item_name": "Scanned widget",
			"item_group": "Products",
			"stock_uom": "Nos",
			"barcodes": [{"barcode": other}, {"barcode": barcode}],
		},
	)
	assert created["status"] == "created"

	found = read(scanner, "list_documents", doctype="Item", filters={"barcodes.barcode": barcode})
	assert [row["item_code"] for row in found["data"]] == [item_code]
	by_list_form = read(
		scanner, "list_documents", doctype="Item", filters=[["barcodes", "barcode", "=", barcode]]
	)
	assert by_list_form["data"] == found["data"]

	updated = call(
		scanner,
		"upsert",
		doctype="Item",
		key=["barcodes.barcode"],
		data={"barcodes.barcode": barcode, "item_name": "Renamed"},
	)
	assert (updated["status"], updated["name"]) == ("updated", item_code)

	new_barcode = f"41{frappe.generate_hash(length=11)}"
	new_code = erp.unique("SCAN-NEW")
	made = call(
		scanner,
		"upsert",
		doctype="Item",
		key=["barcodes.barcode"],
		data={
			"barcodes.barcode": new_barcode,
			"item_code": new_code,
			"item_group": "Products",
			"stock_uom": "Nos",
		},
	)
	assert made["status"] == "created"
	assert [row["barcode"] for row in made["doc"]["barcodes"]] == [new_barcode]
	frappe.db.rollback()
	assert frappe.db.get_value("Item", item_code, "item_name") == "Renamed"
	assert frappe.db.get_value("Item Barcode", {"barcode": new_barcode}, "parent") == new_code


# --- mobile sales: an order made once, however often it is sent -----------------------------------


@pytest.fixture
def sold_item(erp):
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": erp.unique("SOLD"),
			"item_group": "Products",
			"stock_uom": "Nos",
			"is_stock_item": 0,
			"standard_rate": 25,
		}
	).insert()
	customer = frappe.get_doc({"doctype": "Customer", **_customer(erp.unique("Mobile Customer"))}).insert()
	erp.committed.commit()
	return frappe._dict(item=item.name, customer=customer.name)


def test_a_mobile_sales_order_is_created_once_with_an_idempotency_key(erp, sold_item):
	erp.expose("Sales Order", operations="rc")
	erp.expose("Customer", "customer_name", operations="r")
	app = erp.client(["Sales User"], {"Sales Order": "rc", "Customer": "r"})
	order = {
		"customer": sold_item.customer,
		"company": company(),
		"transaction_date": frappe.utils.today(),
		"delivery_date": frappe.utils.add_days(frappe.utils.today(), 7),
		"items": [{"item_code": sold_item.item, "qty": 3, "rate": 25}],
	}
	headers = {"Idempotency-Key": f"order-{erp.suffix}"}

	first = call(app, "create_document", doctype="Sales Order", data=order, headers=headers)
	retried = call(app, "create_document", doctype="Sales Order", data=order, headers=headers)

	assert first["name"] == retried["name"]
	assert first["doc"]["grand_total"] == 75
	frappe.db.rollback()
	assert frappe.db.count("Sales Order", {"customer": sold_item.customer}) == 1

	read_back = read(app, "get_document", doctype="Sales Order", name=first["name"], expand=["customer"])
	assert read_back["customer"]["name"] == sold_item.customer
	assert read_back["customer"]["customer_type"] == "Company"
	assert read_back["items"][0]["item_code"] == sold_item.item


# --- billing: a Sales Invoice submitted in the Desk -------------------------------------------------


def desk_session(erp, roles: list[str]):
	"""A person signed in to the Desk (Frappe's login, a session cookie), with `roles`."""
	person = erp.committed.track(UserFactory(roles=roles))
	password = f"Desk-{frappe.generate_hash(length=12)}!"
	update_password(person.name, password)
	erp.committed.commit()
	session = erp.http()
	signed_in = session.post("/api/method/login", data={"usr": person.name, "pwd": password})
	assert signed_in.status_code == 200, signed_in.text
	return session


def submit_in_the_desk(session, doctype: str, name: str) -> None:
	"""What the form's Submit button sends: the document as the form loaded it, action Submit."""
	loaded = session.get(
		"/api/method/frappe.desk.form.load.getdoc", params={"doctype": doctype, "name": name}
	)
	assert loaded.status_code == 200, loaded.text
	doc = loaded.json()["docs"][0]
	submitted = session.post(
		"/api/method/frappe.desk.form.save.savedocs", data={"doc": json.dumps(doc), "action": "Submit"}
	)
	assert submitted.status_code == 200, submitted.text


def test_a_sales_invoice_submitted_in_the_desk_reaches_the_change_feed_and_the_subscriber(
	erp, sold_item, receiver, run_background_jobs
):
	erp.expose("Sales Invoice", operations="rc")
	billing = erp.client(["Accounts User"], {"Sales Invoice": "rc"})
	subscription = erp.committed.track(
		HubSubscriptionFactory(
			document_type="Sales Invoice",
			endpoint_url=receiver.url,
			send_on_insert=1,
			send_on_update=0,
			send_on_delete=0,
			send_on_submit=1,
		)
	)
	erp.committed.commit()
	invoice = call(
		billing,
		"create_document",
		doctype="Sales Invoice",
		data={
			"customer": sold_item.customer,
			"company": company(),
			"due_date": frappe.utils.add_days(frappe.utils.today(), 30),
			"items": [{"item_code": sold_item.item, "qty": 2, "rate": 25}],
		},
	)
	assert invoice["doc"]["docstatus"] == 0

	submit_in_the_desk(desk_session(erp, ["Accounts User"]), "Sales Invoice", invoice["name"])

	erp.committed.commit()  # a new snapshot: what the web server committed
	run_background_jobs()
	events = [r.json() for r in receiver.received if r.json()["data"]["name"] == invoice["name"]]
	assert [e["type"] for e in events] == ["sales_invoice.created", "sales_invoice.submitted"], events
	submitted = events[1]["data"]["object"]
	assert (
		submitted["docstatus"] == 1
		and submitted["grand_total"] == 50
		and submitted["outstanding_amount"] == 50
	)
	assert frappe.db.count("Hub Delivery", {"subscription": subscription.name, "status": "Succeeded"}) == 2

	mine = [change for change in _whole_feed(billing, "Sales Invoice") if change["name"] == invoice["name"]]
	# The snapshot shows the invoice as it is now (submitted); the submit's own change may follow it
	# (the feed may show a document twice, never an older state after a newer one).
	assert mine and {change["doc"]["docstatus"] for change in mine} == {1}, mine
	assert mine[-1]["doc"]["outstanding_amount"] == 50


def _whole_feed(client, doctype: str) -> list[dict]:
	changes, cursor = [], None
	for _page in range(100):
		page = read(client, "changes", doctype=doctype, **({"cursor": cursor} if cursor else {}))
		changes.extend(page["changes"])
		cursor = page["next_cursor"]
		if not page["has_more"]:
			return changes
	raise AssertionError("the change feed did not end")

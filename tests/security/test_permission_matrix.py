"""Every `api.v1` endpoint against every kind of caller: the expected status, and nothing leaked.

Callers: Guest (over HTTP), a user without roles, a reader restricted by User Permissions, an editor
below the permlevel of `cost`, an Integration Manager without data roles, and Administrator.
"""

import inspect

import pytest

import frappe

from integration_hub.api import v1
from tests.conftest import Committed
from tests.factories import (
	CategoryFactory,
	HubMethodFactory,
	HubReportFactory,
	HubResourceFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
)
from tests.fixtures_doctypes import EDITOR_ROLE, INVOICE, ITEM, READER_ROLE

SECRET_COST = 987654.25
DATA_ENDPOINTS = (
	"describe",
	"get_document",
	"list_documents",
	"changes",
	"upsert",
	"create_document",
	"bulk_upsert",
	"delete_document",
	"submit_document",
	"cancel_document",
	"amend_document",
)
MANAGEMENT_ENDPOINTS = (
	"redeliver",
	"recover",
	"rotate_secret",
	"send_test_event",
	"run_now",
	"reset_cursor",
	"reprocess",
	"health",
)
OPEN_ENDPOINTS = ("ping", "openapi")
# A curated method runs as its caller and decides for itself, as at /api/method (keys: see
# tests/methods): frappe.share.get_users answers everyone, with only the shares of documents they may read.
METHOD_ENDPOINTS = ("call_method",)
# A curated report runs through Frappe's report permissions: Frappe's ToDo report is for System Managers.
REPORT_ENDPOINTS = ("run_report",)


def whitelisted_endpoints() -> set[str]:
	return {
		name
		for name, fn in inspect.getmembers(v1, inspect.isfunction)
		if fn.__module__ == v1.__name__ and fn in frappe.whitelisted
	}


def test_the_matrix_covers_every_endpoint():
	covered = set(DATA_ENDPOINTS) | set(MANAGEMENT_ENDPOINTS) | set(OPEN_ENDPOINTS)
	covered |= set(METHOD_ENDPOINTS) | set(REPORT_ENDPOINTS)
	covered.add("receive")
	missing = whitelisted_endpoints() - covered
	assert not missing, f"add these endpoints to the permission matrix: {sorted(missing)}"


@pytest.fixture(scope="module")
def world(site):
	"""Made once for the module and really committed (each test still rolls back its own writes)."""
	committed = Committed()
	frappe.db.rollback()
	track = committed.track
	track(HubResourceFactory())
	track(HubMethodFactory(method_name="shared_with", method_path="frappe.share.get_users"))
	track(HubReportFactory(report_name="todo", report="ToDo"))
	mine, theirs = track(CategoryFactory()), track(CategoryFactory())
	visible = track(ItemFactory(code="MATRIX-VISIBLE", category=mine.name, cost=SECRET_COST))
	hidden = track(ItemFactory(code="MATRIX-HIDDEN", category=theirs.name, cost=SECRET_COST))
	restricted = track(UserFactory(roles=[READER_ROLE]))
	track(UserPermissionFactory(user=restricted.name, for_value=mine.name))
	users = {
		"no_roles": track(UserFactory(roles=[])).name,
		"restricted_reader": restricted.name,
		"editor_low_permlevel": track(UserFactory(roles=[EDITOR_ROLE])).name,
		"integration_manager": track(UserFactory(roles=["Integration Manager"])).name,
		"administrator": "Administrator",
	}
	# The life cycle's endpoints work on a submittable DocType: a draft, a submitted and a cancelled one.
	track(
		HubResourceFactory(document_type=INVOICE, key_fields="customer_name", allow_submit=1, allow_cancel=1)
	)
	invoices = {
		state: frappe.get_doc({"doctype": INVOICE, "customer_name": f"MATRIX-{state}"}).insert()
		for state in ("draft", "submitted", "cancelled")
	}
	# Frappe deletes no submitted document, whoever asks: these go straight from the table.
	committed.on_cleanup(lambda: frappe.db.delete(INVOICE, {"customer_name": ["like", "MATRIX-%"]}))
	invoices["submitted"].submit()
	invoices["cancelled"].submit()
	invoices["cancelled"].cancel()
	committed.on_cleanup(lambda: frappe.db.delete("Hub Change", {"ref_doctype": ["in", [ITEM, INVOICE]]}))
	committed.commit()
	yield frappe._dict(visible=visible, hidden=hidden, users=users, invoices=invoices)
	committed.cleanup()


def arguments(endpoint: str, world) -> dict:
	item = world.visible
	return {
		"describe": {"doctype": ITEM},
		"get_document": {"doctype": ITEM, "name": item.name},
		"list_documents": {"doctype": ITEM, "filters": {"code": ["like", "MATRIX-%"]}},
		"changes": {"doctype": ITEM},
		"upsert": {"doctype": ITEM, "data": {"code": item.code, "qty": 77}},
		"create_document": {"doctype": ITEM, "data": {"code": "MATRIX-CREATED", "qty": 77}},
		"bulk_upsert": {"doctype": ITEM, "records": [{"code": item.code, "qty": 77}]},
		"delete_document": {"doctype": ITEM, "name": item.name},
		"submit_document": {"doctype": INVOICE, "name": world.invoices["draft"].name},
		"cancel_document": {"doctype": INVOICE, "name": world.invoices["submitted"].name},
		"amend_document": {"doctype": INVOICE, "name": world.invoices["cancelled"].name},
		"redeliver": {"delivery": "999999999"},
		"recover": {"subscription": "no-such-subscription", "since": "2026-01-01 00:00:00"},
		"rotate_secret": {"subscription": "no-such-subscription"},
		"send_test_event": {"subscription": "no-such-subscription"},
		"run_now": {"job": "no-such-job"},
		"reset_cursor": {"job": "no-such-job"},
		"health": {},
		"reprocess": {"event": "no-such-event"},
		"ping": {},
		"openapi": {},
		"call_method": {"method": "shared_with", "args": {"doctype": ITEM, "name": world.hidden.name}},
		"run_report": {"report": "todo"},
	}[endpoint]


# Expected status per caller and endpoint; "mgmt" means allowed (200, or 404 for the unknown names used).
EXPECTED = {
	"no_roles": {
		**dict.fromkeys(DATA_ENDPOINTS, 403),
		**dict.fromkeys(MANAGEMENT_ENDPOINTS, 403),
		"run_report": 403,
	},
	"restricted_reader": {
		"describe": 200,
		"get_document": 200,
		"list_documents": 200,
		"changes": 200,
		"upsert": 403,
		"create_document": 403,
		"bulk_upsert": 403,
		"delete_document": 403,
		"submit_document": 403,
		"cancel_document": 403,
		"amend_document": 403,
		**dict.fromkeys(MANAGEMENT_ENDPOINTS, 403),
		"run_report": 403,
	},
	"editor_low_permlevel": {
		**dict.fromkeys(DATA_ENDPOINTS, 200),
		**dict.fromkeys(MANAGEMENT_ENDPOINTS, 403),
		"run_report": 403,
	},
	"integration_manager": {
		**dict.fromkeys(DATA_ENDPOINTS, 403),
		**dict.fromkeys(MANAGEMENT_ENDPOINTS, "mgmt"),
		"run_report": 403,
	},
	"administrator": {**dict.fromkeys(DATA_ENDPOINTS, 200), **dict.fromkeys(MANAGEMENT_ENDPOINTS, "mgmt")},
}


@pytest.mark.parametrize("caller", sorted(EXPECTED))
@pytest.mark.parametrize(
	"endpoint",
	[*DATA_ENDPOINTS, *MANAGEMENT_ENDPOINTS, *OPEN_ENDPOINTS, *METHOD_ENDPOINTS, *REPORT_ENDPOINTS],
)
def test_permission_matrix(api, as_user, world, caller, endpoint):
	with as_user(world.users[caller]):
		status, body = api(endpoint, **arguments(endpoint, world))
	expected = EXPECTED[caller].get(endpoint, 200)
	if expected == "mgmt":
		assert status in (200, 404), (status, body)
	else:
		assert status == expected, (status, body)
	text = frappe.as_json(body)
	if status >= 400:
		assert body["code"] and "Traceback" not in text
		assert world.visible.code not in text or endpoint in ("upsert", "bulk_upsert")
	if caller in ("restricted_reader", "no_roles", "integration_manager"):
		assert world.hidden.code not in text, "a document this caller may not read leaked"
	if caller != "administrator":
		assert str(SECRET_COST) not in text, "a permlevel-1 value leaked"
	if status < 400 and endpoint in ("upsert", "create_document", "bulk_upsert", "delete_document"):
		return
	if caller != "administrator":
		assert frappe.db.get_value(ITEM, world.visible.name, "qty") == 1, "a refused write changed data"
	if status >= 400:
		states = [frappe.db.get_value(INVOICE, doc.name, "docstatus") for doc in world.invoices.values()]
		assert states == [0, 1, 2], "a refused transition changed an invoice"
		assert not frappe.db.exists(INVOICE, {"amended_from": world.invoices["cancelled"].name})


def test_guest_is_refused_everywhere_over_http(http):
	client = http()
	for endpoint in [
		*DATA_ENDPOINTS,
		*MANAGEMENT_ENDPOINTS,
		*OPEN_ENDPOINTS,
		*METHOD_ENDPOINTS,
		*REPORT_ENDPOINTS,
	]:
		response = client.post(f"/api/method/integration_hub.api.v1.{endpoint}", json={"doctype": ITEM})
		assert response.status_code == 401, (endpoint, response.status_code, response.text[:200])
		assert response.headers["Content-Type"].startswith("application/problem+json")
		assert response.json()["code"] == "NOT_AUTHENTICATED"

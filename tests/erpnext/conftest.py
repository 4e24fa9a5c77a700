"""ERPNext scenarios: an outside system (a CRM, a warehouse scanner, a mobile sales app…) reaching a real
ERPNext site through the hub, over HTTP, with a Hub API key whose user has only the ERPNext roles that
system needs.

These tests run only where ERPNext is installed on the test site (./run-tests installs it and completes
its setup wizard on a bench that has it; tests/conftest.py says in one line when they did not run).
The hub's configuration they make (resources, users, keys) is committed and removed afterwards; the
ERPNext documents they write carry names unique to the test and stay, as they would on a real site
(a submitted invoice cannot be deleted): the site is dropped at the end of the run.
"""

from collections.abc import Iterator

import pytest

import frappe

from tests.conftest import Committed
from tests.events.conftest import receiver  # noqa: F401  (a webhook receiver on 127.0.0.1)
from tests.factories import HubAPIKeyFactory, HubMethodFactory, HubResourceFactory, UserFactory
from tests.site_setup import COMPANY
from tests.web_server import Client

API = "/api/method/integration_hub.api.v1"
OPERATIONS = {"r": "read", "c": "create", "u": "update", "d": "delete", "s": "submit", "x": "cancel"}


class ERPNextHub:
	"""The hub on the ERPNext test site, as its administrator configures it for an outside system."""

	def __init__(self, committed: Committed, http) -> None:
		self.committed = committed
		self.http = http
		self.suffix = frappe.generate_hash(length=6)

	def unique(self, text: str) -> str:
		return f"{text} {self.suffix}"

	def expose(self, doctype: str, key_fields: str | None = None, operations: str = "rcud", **values) -> None:
		"""A Hub Resource for `doctype` (every field the caller may read) allowing `operations` (letters as
		in `client`)."""
		if frappe.db.exists("Hub Resource", doctype):
			frappe.delete_doc("Hub Resource", doctype, force=True)
		allowed = {f"allow_{name}": int(letter in operations) for letter, name in OPERATIONS.items()}
		self.committed.track(
			HubResourceFactory(document_type=doctype, key_fields=key_fields, **allowed, **values)
		)

	def expose_method(self, name: str, path: str, **values) -> None:
		"""A Hub Method `name` for the whitelisted method at `path`."""
		if frappe.db.exists("Hub Method", name):
			frappe.delete_doc("Hub Method", name, force=True)
		self.committed.track(HubMethodFactory(method_name=name, method_path=path, **values))

	def client(
		self,
		roles: list[str],
		scopes: dict[str, str],
		methods: list[str] | None = None,
		reports: list[str] | None = None,
	) -> Client:
		"""An HTTP client authenticated with a Hub API key of a new user who has `roles`; `scopes` maps
		each resource to the operations the key may use ("rc": read and create; s: submit, x: cancel);
		`methods` and `reports`: the Hub Methods it may call and the Hub Reports it may run."""
		user = self.committed.track(UserFactory(roles=roles))
		rows = [
			{
				"resource": doctype,
				**{f"allow_{name}": int(letter in ops) for letter, name in OPERATIONS.items()},
			}
			| {"allow_changes": int("r" in ops)}
			for doctype, ops in scopes.items()
		]
		key = self.committed.track(
			HubAPIKeyFactory(user=user.name, scopes=rows, methods=methods or [], reports=reports or [])
		)
		self.committed.commit()
		client = self.http()
		client.headers["Authorization"] = f"Bearer {key.flags.plain_token}"
		client.user = user.name
		return client


@pytest.fixture
def erp(committed, http) -> Iterator[ERPNextHub]:
	frappe.set_user("Administrator")
	yield ERPNextHub(committed, http)


def call(client: Client, endpoint: str, *, expect: int = 200, headers: dict | None = None, **body) -> dict:
	"""POST a JSON body to an endpoint of the API; the answer's body (`message` of a success)."""
	response = client.post(f"{API}.{endpoint}", json=body, headers=headers or {})
	assert response.status_code == expect, response.text
	return response.json().get("message") if expect == 200 else response.json()


def read(client: Client, endpoint: str, *, expect: int = 200, **params) -> dict:
	"""GET an endpoint of the API with query parameters (JSON-encoded where they are not strings)."""
	encoded = {
		k: v if isinstance(v, str | int) else frappe.as_json(v, indent=None) for k, v in params.items()
	}
	response = client.get(f"{API}.{endpoint}", params=encoded)
	assert response.status_code == expect, response.text
	return response.json().get("message") if expect == 200 else response.json()


def company() -> str:
	return COMPANY


@pytest.fixture
def stock(erp):
	"""A stock item (ERPNext's own Stores warehouse of the test company) and a customer."""
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": erp.unique("STOCKED"),
			"item_group": "Products",
			"stock_uom": "Nos",
			"is_stock_item": 1,
			"valuation_rate": 10,
		}
	).insert()
	customer = frappe.get_doc(
		{"doctype": "Customer", "customer_name": erp.unique("Billing Customer"), "customer_type": "Company"}
	).insert()
	erp.committed.commit()
	abbr = frappe.db.get_value("Company", company(), "abbr")
	return frappe._dict(item=item.name, customer=customer.name, warehouse=f"Stores - {abbr}")

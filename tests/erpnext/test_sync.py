"""A sync pull of Customers from a second ERPNext site (made, set up and served by gunicorn for this
module, as tests/remote_site.py makes the sync tests' remote), through its hub's change feed."""

import pytest

import frappe

from tests.erpnext.conftest import API
from tests.factories import HubConnectionFactory, HubSyncJobFactory, UserFactory
from tests.remote_site import remote_site, setup_site
from tests.sync.support import counts, run


@pytest.fixture(scope="module")
def remote_erpnext(site):
	with remote_site(
		"iherpremote", setup=lambda name: setup_site(name, "setup-erpnext"), erpnext=True
	) as remote:
		yield remote


def _put_customers(remote, records: list[dict]) -> None:
	response = remote.session(remote.sync_token).post(
		f"{remote.base_url}{API}.bulk_upsert", json={"doctype": "Customer", "records": records}, timeout=60
	)
	assert response.status_code == 200, response.text
	assert all(r["status"] != "failed" for r in response.json()["message"]["results"]), response.text


def test_customers_are_pulled_from_a_second_erpnext_site(remote_erpnext):
	suffix = frappe.generate_hash(length=6)
	names = [f"Remote Customer {i} {suffix}" for i in range(3)]
	_put_customers(
		remote_erpnext,
		[{"customer_name": n, "customer_type": "Company", "customer_group": "Commercial"} for n in names],
	)
	key, secret = remote_erpnext.sync_token.split(":")
	connection = HubConnectionFactory(
		base_url=remote_erpnext.base_url, auth_type="Token", api_key=key, api_secret=secret
	)
	sales = UserFactory(roles=["Sales User"])
	job = HubSyncJobFactory(
		connection=connection.name,
		local_doctype="Customer",
		remote_resource="Customer",
		run_as=sales.name,
		field_map=[
			("customer_name", "customer_name", "", "", 1),
			("customer_type", "customer_type", "", "", 0),
			("customer_group", "customer_group", "", "", 0),
		],
	)

	first = run(job.name)

	assert first.status == "Succeeded", first.error
	assert first.failed_count == 0, first.record_errors
	local = frappe.get_all(
		"Customer",
		filters={"customer_name": ["in", names]},
		fields=["customer_name", "customer_type", "owner"],
	)
	assert sorted(c.customer_name for c in local) == names
	assert {c.owner for c in local} == {sales.name}, "written as the job's user"

	_put_customers(remote_erpnext, [{"customer_name": names[0], "customer_type": "Individual"}])
	second = run(job.name)

	assert counts(second) | {"read": second.records_read} == {
		"read": 1, "created": 0, "updated": 1, "unchanged": 0, "deleted": 0, "skipped": 0, "failed": 0, "pushed": 0,
	}  # fmt: skip
	assert frappe.db.get_value("Customer", {"customer_name": names[0]}, "customer_type") == "Individual"

"""Secrets of API keys, webhook subscriptions and connections never appear in a response, a log, an
Error Log or a delivery record, even when the calls that use them fail."""

import glob
import os

import pytest

import frappe

from integration_hub.exceptions import NotExposable
from tests.factories import (
	HubAPIKeyFactory,
	HubConnectionFactory,
	HubResourceFactory,
	HubSubscriptionFactory,
	ItemFactory,
	UserFactory,
)
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM

CONNECTION_SECRET = "conn-secret-5f0c8d2e9a"
CONNECTION_PASSWORD = "basic-password-77c1e0"
# Tables where a leaked secret would persist.
RECORD_TABLES = (
	"Error Log",
	"Version",
	"Comment",
	"Activity Log",
	"Hub Event",
	"Hub Delivery",
	"Hub Delivery Attempt",
	"Hub Sync Run",
	"Hub Sync Failure",
	"Hub Change",
	"Hub Idempotency Key",
)


def text_columns(doctype: str) -> list[str]:
	if not frappe.db.table_exists(doctype):
		return []
	return [
		column
		for column, kind in frappe.db.sql(
			"select column_name, data_type from information_schema.columns where table_schema = database() and table_name = %s",
			f"tab{doctype}",
		)
		if kind in ("varchar", "text", "longtext", "mediumtext", "json")
	]


def occurrences(secret: str) -> list[str]:
	found = []
	for doctype in RECORD_TABLES:
		for column in text_columns(doctype):
			if frappe.db.sql(f"select 1 from `tab{doctype}` where `{column}` like %s limit 1", f"%{secret}%"):
				found.append(f"{doctype}.{column}")
	for path in glob.glob(os.path.join(frappe.get_site_path("logs"), "*.log")) + glob.glob("../logs/*.log"):
		with open(path, errors="replace") as log:
			if secret in log.read():
				found.append(path)
	return found


@pytest.fixture
def secrets_in_use(run_background_jobs):
	"""Use every kind of secret on calls that fail (nothing listens on 127.0.0.1:9)."""
	subscription = HubSubscriptionFactory(endpoint_url="http://127.0.0.1:9/hook")
	subscription_secret = subscription.get_password("secret")
	token_connection = HubConnectionFactory(
		auth_type="Token", api_key="conn-key", api_secret=CONNECTION_SECRET
	)
	basic_connection = HubConnectionFactory(
		auth_type="Basic", username="someone", password=CONNECTION_PASSWORD
	)
	for connection in (token_connection, basic_connection):
		connection.test_connection()
	ItemFactory(code="SECRET-1")
	frappe.db.commit()  # enqueues the delivery (inside the test's transaction)
	run_background_jobs()
	key = HubAPIKeyFactory(user=UserFactory(roles=[EDITOR_ROLE]).name)
	return {
		"subscription": subscription_secret,
		"connection token": CONNECTION_SECRET,
		"connection password": CONNECTION_PASSWORD,
		"api key": key.flags.plain_token.split("_", 2)[2],
	}


def test_no_secret_is_stored_or_logged_anywhere(secrets_in_use):
	assert frappe.db.count("Hub Delivery Attempt") or frappe.db.count("Hub Delivery"), (
		"the delivery was not tried"
	)
	for kind, secret in secrets_in_use.items():
		assert occurrences(secret) == [], f"the {kind} secret leaked"


def test_no_secret_appears_in_api_answers(api, secrets_in_use):
	HubResourceFactory()
	answers = [
		api(endpoint, **arguments)
		for endpoint, arguments in [
			("openapi", {}),
			("describe", {"doctype": ITEM}),
			("list_documents", {"doctype": ITEM}),
			("changes", {"doctype": ITEM}),
		]
	]
	if hasattr(frappe.get_module("integration_hub.api.v1"), "health"):
		answers.append(api("health"))
	text = frappe.as_json(answers)
	for kind, secret in secrets_in_use.items():
		assert secret not in text, f"the {kind} secret appeared in an API answer"


def test_hub_doctypes_with_secrets_cannot_be_exposed():
	for doctype in ("Hub API Key", "Hub Subscription", "Hub Connection"):
		with pytest.raises(NotExposable):
			HubResourceFactory(document_type=doctype, key_fields="")

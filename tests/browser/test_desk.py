"""The Desk as an administrator uses it: each test is the clicks and keystrokes of one task, in a real
Chromium against the served test site. What the test process prepares (a subscription with a failed
delivery, a connection) is committed and deleted afterwards; what the browser creates is deleted too."""

import subprocess
import sys

import pytest
import requests
from standardwebhooks.webhooks import Webhook

import frappe

from tests.browser.conftest import Desk, wait_for
from tests.events.support import Receiver
from tests.factories import (
	HubConnectionFactory,
	HubResourceFactory,
	HubSubscriptionFactory,
	HubSyncJobFactory,
)
from tests.fixtures_doctypes import ITEM
from tests.helpers import read_committed
from tests.rest_server import TOKEN, rest_server
from tests.web_server import free_port

HUB_PAGES = [
	"/app/hub-resource",
	"/app/hub-api-key",
	"/app/hub-subscription",
	"/app/hub-delivery",
	"/app/hub-event",
	"/app/hub-connection",
	"/app/hub-sync-job",
	"/app/hub-sync-run",
	"/app/hub-sync-failure",
	"/app/hub-inbound-endpoint",
	"/app/hub-inbound-event",
	"/app/hub-change",
	"/app/hub-resource/new",
	"/app/hub-api-key/new",
	"/app/hub-subscription/new",
	"/app/hub-connection/new",
	"/app/hub-sync-job/new",
	"/app/hub-inbound-endpoint/new",
	"/app/hub-assistant-connection",
	"/app/hub-oauth-client",
	"/app/hub-oauth-token",
	"/app/hub-assistant-settings",
]


def unique(prefix: str) -> str:
	return f"{prefix} {frappe.generate_hash(length=6)}"


def forget(committed, doctype: str, name: str) -> None:
	"""Delete what the browser created, after the test."""
	committed.track(frappe._dict(doctype=doctype, name=name))


@pytest.fixture
def receiver():
	endpoint = Receiver().start()
	yield endpoint
	endpoint.stop()


def test_the_workspace_shows_its_cards_and_charts(desk: Desk):
	page = desk.open("/app/integration-hub")
	cards = page.locator(".widget.number-widget-box")
	wait_for(
		lambda: (
			cards.count() == 5
			and all(v.strip().isdigit() for v in cards.locator(".number").all_inner_texts())
		)
	)
	charts = page.locator(".widget.dashboard-widget-box")
	assert charts.count() == 2
	for chart in charts.all():
		chart.locator(".frappe-chart .x.axis text").first.wait_for()
	desk.screenshot("workspace")
	for chart in charts.all():
		labels = [text.strip() for text in chart.locator(".frappe-chart .x.axis text").all_text_contents()]
		shown = [label for label in labels if label]
		assert shown, labels
		assert not [label for label in shown if label.endswith("..")], labels  # none cut short
		colors = chart.locator(".frappe-chart .chart-legend .legend-dot, .frappe-chart .legend-dataset-bar")
		fills = {
			item.evaluate(
				"e => getComputedStyle(e).fill || e.getAttribute('fill') || getComputedStyle(e).backgroundColor"
			)
			for item in colors.all()
		}
		assert len(fills) == colors.count() == 4, fills  # one color per status, none shared


def test_expose_a_doctype_with_the_field_picker(desk: Desk, committed):
	doctype = "Note"
	forget(committed, "Hub Resource", doctype)
	page = desk.open("/app/hub-resource/new")
	desk.fill_link("document_type", doctype)
	key_fields = desk.field("key_fields")
	key_fields.fill("titel")
	key_fields.blur()
	page.locator(".alert-message", has_text="titel is not a field of Note").wait_for()  # checked as typed
	desk.screenshot("a-typo-in-key-fields")
	key_fields.fill("title")
	key_fields.blur()
	page.get_by_label("Allow Create").check()
	page.locator('[data-fieldname="fields"] button', has_text="Pick Fields").click()
	picker = desk.dialog("Fields of Note")
	picker.get_by_label("Title (title)").check()
	picker.get_by_label("Content (content)").check()
	desk.screenshot("field-picker")
	picker.locator(".btn-primary").click()
	rows = page.locator('[data-fieldname="fields"] .grid-body .rows .grid-row [data-fieldname="fieldname"]')
	assert rows.all_inner_texts() == ["title", "content"]
	desk.save()
	desk.screenshot("saved")
	assert page.locator('.form-layout [data-fieldname="document_type"]').first.is_visible()
	stored = read_committed(
		"select fieldname from `tabHub Resource Field` where parent = %s order by idx", (doctype,)
	)
	assert [row[0] for row in stored] == ["title", "content"]


def test_issue_a_key_copy_its_token_and_call_ping(desk: Desk, committed, desk_url: str, desk_site: str):
	name = unique("Browser key")
	page = desk.open("/app/hub-api-key/new")
	desk.field("key_name").fill(name)
	desk.fill_link("user", "hub-admin@example.com")
	desk.save()
	token_dialog = desk.dialog("API key for")
	desk.screenshot("token-shown-once")
	token_dialog.locator(".btn-primary", has_text="Copy").click()
	token = wait_for(lambda: desk.clipboard().startswith("ihk_") and desk.clipboard())
	desk.close_dialog()
	prefix = page.locator('[data-fieldname="prefix"] .control-value').inner_text().strip()
	forget(committed, "Hub API Key", prefix)
	assert token.startswith(f"ihk_{prefix}_")  # the Public Prefix is on the form, and names the token

	ping = requests.get(
		f"{desk_url}/api/method/integration_hub.api.v1.ping",
		headers={"Authorization": f"Bearer {token}"},
		timeout=30,
	)
	assert ping.status_code == 200, ping.text
	assert ping.json()["message"]["user"] == "hub-admin@example.com"
	desk.field("rate_limit_per_minute").fill("300")
	desk.save()  # a later save keeps the secret's hash, which the form never holds

	desk.action("Rotate Secret", "Actions")
	desk.dialog().get_by_text("The current token stops working at once").wait_for()
	desk.confirm()
	rotated = desk.dialog("API key for")
	desk.screenshot("rotated-token")
	rotated.locator(".btn-primary", has_text="Copy").click()
	new_token = wait_for(lambda: (value := desk.clipboard()) != token and value)
	desk.close_dialog()
	assert new_token.startswith(f"ihk_{prefix}_")
	for candidate, status in ((token, 401), (new_token, 200)):  # the old token stops working now
		answer = requests.get(
			f"{desk_url}/api/method/integration_hub.api.v1.ping",
			headers={"Authorization": f"Bearer {candidate}"},
			timeout=30,
		)
		assert answer.status_code == status, answer.text


def test_subscribe_send_a_test_event_and_rotate_the_secret(desk: Desk, committed, receiver: Receiver):
	name = unique("Notes to receiver")
	forget(committed, "Hub Subscription", name)
	page = desk.open("/app/hub-subscription/new")
	assert page.locator('.form-layout [data-fieldname="status"]').first.is_hidden()  # one on/off control
	desk.field("subscription_name").fill(name)
	desk.field("endpoint_url").fill(receiver.url)
	desk.fill_link("document_type", "Note")
	editor = page.locator('[data-fieldname="condition"] .ace-editor-target')
	assert editor.bounding_box()["height"] < 100  # a one-line expression gets a small editor
	desk.save()
	shown = desk.dialog("Signing secret of")
	desk.screenshot("generated-secret-shown-once")
	shown.locator(".btn-primary", has_text="Copy").click()
	secret = wait_for(lambda: (value := desk.clipboard()).startswith("whsec_") and value)
	desk.close_dialog()

	desk.action("Send Test Event", "Actions")
	outcome = desk.dialog("Test event: delivered")
	outcome.get_by_text("HTTP 200").wait_for()
	desk.screenshot("test-event-delivered")
	desk.close_dialog()
	assert len(receiver.received) == 1
	sent = receiver.received[0]
	event = Webhook(secret).verify(sent.body, sent.headers)  # signed with the secret the Desk showed
	assert event["type"] == "hub.test"

	desk.action("Rotate Secret", "Actions")
	desk.dialog().get_by_text("signed with both secrets for 24 hours").wait_for()
	desk.confirm()
	rotated = desk.dialog("New signing secret of")
	desk.screenshot("rotated-secret-shown-once")
	rotated.locator(".btn-primary", has_text="Copy").click()
	new_secret = wait_for(lambda: (value := desk.clipboard()) != secret and value)
	desk.close_dialog()
	assert new_secret.startswith("whsec_")
	desk.wait_until_idle()
	assert page.locator(".modal.show").count() == 0  # shown once: reloading the form shows it no more

	desk.action("Send Test Event", "Actions")
	desk.dialog("Test event: delivered")
	desk.close_dialog()
	Webhook(new_secret).verify(receiver.received[-1].body, receiver.received[-1].headers)

	desk.action("Recover", "Actions")
	desk.dialog("Recover deliveries").locator(".btn-primary").click()
	desk.dialog("Recovery queued").get_by_text("0 deliveries will be sent again").wait_for()
	desk.close_dialog()
	run_worker_once()  # the recovery job: nothing failed, so it sends nothing
	assert len(receiver.received) == 2


def test_resume_a_subscription_the_hub_disabled(desk: Desk, committed):
	from integration_hub.events import health

	subscription = committed.track(HubSubscriptionFactory(document_type="Note"))
	health.disable(subscription.name, "The endpoint answered 410 Gone")
	committed.commit()
	for doctype in ("Error Log", "Notification Log"):  # what disabling it told the administrators
		committed.on_cleanup(
			lambda doctype=doctype: frappe.db.delete(
				doctype, {"reference_name" if doctype == "Error Log" else "document_name": subscription.name}
			)
		)
	page = desk.open("/app/hub-subscription")
	row = page.locator(".list-row-container", has_text=subscription.name)
	row.locator(
		".indicator-pill:visible", has_text="Disabled by the hub"
	).wait_for()  # one indicator, not two switches
	desk.open(f"/app/hub-subscription/{subscription.name}")
	page.locator(".form-message", has_text="The endpoint answered 410 Gone").wait_for()
	desk.screenshot("disabled-by-the-hub")
	desk.action("Resume Deliveries")
	page.locator(".indicator-pill", has_text="Active").wait_for()
	desk.wait_until_idle()
	assert read_committed(
		"select status, disabled_reason from `tabHub Subscription` where name = %s", (subscription.name,)
	) == [["Active", None]]
	assert page.locator(".form-message", has_text="410 Gone").count() == 0


def test_redeliver_a_failed_delivery(desk: Desk, committed):
	port = free_port()  # nothing listens there yet: the first attempt gets no answer at all
	subscription = committed.track(
		HubSubscriptionFactory(endpoint_url=f"http://127.0.0.1:{port}/hook", document_type="Note")
	)
	from integration_hub.events import controls

	failed = controls.send_test_event(subscription.name)
	committed.commit()
	assert failed["status"] == "Failed" and not failed["status_code"]  # stored as no status at all

	page = desk.open(f"/app/hub-delivery?subscription={subscription.name}")
	header = page.locator(".list-row-head").inner_text()
	assert "Subscription" in header and "Occurred At" in header
	desk.screenshot("deliveries-list")
	desk.open(f"/app/hub-delivery/{failed['delivery']}")
	page.locator('[data-fieldname="last_status_code"] .control-value', has_text="No answer").wait_for()
	desk.screenshot("failed-delivery")

	receiver = Receiver(port=port).start()
	try:
		desk.action("Redeliver")
		desk.dialog("Redelivery: delivered").get_by_text("HTTP 200").wait_for()
		desk.screenshot("redelivered")
		desk.close_dialog()
		assert len(receiver.received) == 1
	finally:
		receiver.stop()
	page.locator(".indicator-pill", has_text="Succeeded").wait_for()


def test_test_a_connection_and_run_a_sync_job_now(desk: Desk, committed, desk_site: str):
	prefix = f"BRW-{frappe.generate_hash(length=6)}-"
	with rest_server() as rest:
		for number in range(1, 4):
			rest.catalog.put(number, sku=f"{prefix}{number}", label=f"Browser item {number}")
		connection = committed.track(
			HubConnectionFactory(
				connection_type="REST", base_url=rest.base_url, auth_type="Bearer", bearer_token=TOKEN
			)
		)
		job = committed.track(
			HubSyncJobFactory(
				connection=connection.name,
				local_doctype=ITEM,
				remote_resource="/v1/items",
				records_path="data.items",
				id_field="id",
				cursor_field="seq",
				cursor_param="after",
				page_size_param="limit",
				field_map=[("sku", "code", "", "", 1), ("label", "title", "", "", 0)],
			)
		)
		committed.track(HubResourceFactory())  # items exposed: the run's writes enter the change feed
		committed.commit()
		committed.on_cleanup(lambda: frappe.db.delete(ITEM, {"code": ["like", f"{prefix}%"]}))
		committed.on_cleanup(lambda: frappe.db.delete("Hub Sync Link", {"connection": connection.name}))

		page = desk.open(f"/app/hub-connection/{connection.name}")
		desk.action("Test Connection")
		desk.dialog("Connected")
		desk.screenshot("connection-tested")
		desk.close_dialog()

		desk.open(f"/app/hub-sync-job/{job.name}")
		desk.action("Run Now")
		page.locator(".alert-message", has_text="Run queued").wait_for()
		run_worker_once()
		page.reload()
		desk.wait_until_idle()
		page.locator(".form-message", has_text="Last run: Succeeded").wait_for()
		assert (
			page.locator('[data-fieldname="last_run_status"] .control-value').inner_text().strip()
			== "Succeeded"
		)
		desk.screenshot("sync-run-succeeded")

		desk.action("Reset Cursor", "Actions")
		desk.confirm()
		page.locator(".alert-message", has_text="Cursor reset").wait_for()
		assert read_committed("select `cursor` from `tabHub Sync Job` where name = %s", (job.name,)) == [
			[None]
		]

		page.locator(".form-message a", has_text="Succeeded").click()
		page.wait_for_url("**/app/hub-sync-run/**")
		desk.wait_until_idle()
		assert page.locator('[data-fieldname="created_count"] .control-value').inner_text().strip() == "3"
		desk.screenshot("sync-run")

		run_name = page.url.rstrip("/").rsplit("/", 1)[-1]
		desk.action("Changes", "What It Caused")
		page.wait_for_url("**/app/hub-change?request_id=sync-run*")
		desk.wait_until_idle()
		page.locator(".list-count", has_text="3 of 3").wait_for()
		listed = page.locator(".list-row-container .list-subject a[data-name]")
		assert sorted(listed.all_inner_texts()) == sorted(
			str(seq)
			for [seq] in read_committed(
				"select name from `tabHub Change` where request_id = %s", (f"sync-run:{run_name}",)
			)
		)
		desk.screenshot("sync-run-changes")


def run_worker_once() -> None:
	"""A real RQ worker of the bench, in burst mode: it runs what is queued on the long queue, then stops."""
	subprocess.run(
		[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", "long", "--burst"],
		check=True,
		timeout=180,
		stdin=subprocess.DEVNULL,
		capture_output=True,
	)


def test_the_inbound_endpoint_form_after_its_first_save(desk: Desk, committed):
	name = f"browser-{frappe.generate_hash(length=6)}"
	forget(committed, "Hub Inbound Endpoint", name)
	page = desk.open("/app/hub-inbound-endpoint/new")
	desk.field("endpoint").fill(name)
	page.locator('[data-fieldname="secret"] input').fill("whsec_" + "QUFB" * 10)
	desk.fill_link("run_as", "hub-admin@example.com")
	desk.fill_link("document_type", "Note")
	table = page.locator('.form-layout [data-fieldname="field_map"]').first
	table_width = table.bounding_box()["width"]
	form_width = page.locator(".form-layout").first.bounding_box()["width"]
	assert table_width > form_width * 0.8  # the whole width, not half a column
	for header in ("Remote Field", "Local Field", "Transform"):
		table.locator(".grid-heading-row", has_text=header).wait_for()
	table.locator(".grid-add-row").click()
	row = table.locator(".grid-body .grid-row").last
	for fieldname in ("remote_field", "local_field"):
		row.locator(f'[data-fieldname="{fieldname}"]').first.click()
		row.locator(f'input[data-fieldname="{fieldname}"]').fill("title")
	row.locator('[data-fieldname="is_key"]').first.click()
	row.locator('input[data-fieldname="is_key"]').check()
	desk.save()
	banners = page.locator(".form-message", has_text="Senders post to")
	banners.first.wait_for()
	desk.screenshot("saved")
	assert banners.count() == 1


def test_every_hub_page_renders_without_errors(desk: Desk):
	for route in HUB_PAGES:
		try:
			desk.open(route)
		except Exception as e:
			raise AssertionError(f"{route} did not settle: {e}") from e
		desk.page.locator(".page-title").first.wait_for()
	count = desk.page.evaluate(
		"frappe.xcall('frappe.client.get_count', {doctype: 'Hub Event'})"
	)  # the list of a virtual DocType is counted too
	assert isinstance(count, int)

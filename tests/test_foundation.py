"""The app is installed, answers over HTTP, and the harness isolates tests from each other."""

import frappe

import integration_hub
from integration_hub.api import v1
from integration_hub.install import NAME_SEQUENCE_CACHE
from tests.factories import ToDoFactory, UserFactory, issue_api_token

ROLLED_BACK_MARKER = "harness rollback marker: this ToDo must not survive its test"


def test_app_is_installed_on_the_site():
	assert "integration_hub" in frappe.get_installed_apps()


def test_every_scheduled_method_has_its_own_scheduled_job_type():
	"""Frappe names a Scheduled Job Type after its method's last two parts: two methods sharing them
	would leave one of them never scheduled."""
	hooks = frappe.get_hooks("scheduler_events")
	methods = [m for frequency, listed in hooks.items() if frequency != "cron" for m in listed]
	methods += [m for listed in hooks.get("cron", {}).values() for m in listed]
	ours = [method for method in methods if method.startswith("integration_hub.")]
	assert len(ours) >= 7
	for method in ours:
		assert frappe.db.exists("Scheduled Job Type", {"method": method, "stopped": 0}), method


def test_the_hub_log_sequences_are_cached():
	"""Installing sets the name sequences of the hub's log DocTypes to hand out numbers from memory."""
	for sequence in ("hub_delivery_id_seq", "hub_change_id_seq"):
		[(_, definition)] = frappe.db.sql(f"show create sequence `{sequence}`")
		assert f"cache {NAME_SEQUENCE_CACHE}" in definition, definition


def test_ping_answers_the_caller_in_process(as_user):
	user = UserFactory(roles=["Desk User"] if frappe.db.exists("Role", "Desk User") else [])
	with as_user(user.name):
		answer = v1.ping()
	assert answer == {
		"app": "integration_hub",
		"version": integration_hub.__version__,
		"frappe_version": frappe.__version__,
		"user": user.name,
	}


def test_ping_over_http_with_token_authentication(committed, http):
	user = committed.track(UserFactory())
	token = issue_api_token(user)
	committed.commit()

	response = http(token).get("/api/method/integration_hub.api.v1.ping")

	assert response.status_code == 200, response.text
	assert response.json() == {
		"message": {
			"app": "integration_hub",
			"version": integration_hub.__version__,
			"frappe_version": frappe.__version__,
			"user": user.name,
		}
	}


def test_ping_refuses_guest(http):
	response = http().get("/api/method/integration_hub.api.v1.ping")

	assert response.status_code in (401, 403)
	assert "frappe_version" not in response.text


def test_ping_refuses_a_wrong_token(committed, http):
	user = committed.track(UserFactory())
	token = issue_api_token(user)
	committed.commit()
	wrong = token.split(":")[0] + ":not-the-secret"

	response = http(wrong).get("/api/method/integration_hub.api.v1.ping")

	assert response.status_code == 401
	assert user.name not in response.text


def test_a_factory_document_exists_inside_its_test_even_after_a_commit():
	todo = ToDoFactory(description=ROLLED_BACK_MARKER)
	frappe.db.commit()  # the harness keeps even this inside the test's transaction
	assert frappe.db.exists("ToDo", todo.name)


def test_the_previous_tests_document_was_rolled_back():
	assert not frappe.db.exists("ToDo", {"description": ROLLED_BACK_MARKER})


def test_a_rollback_in_code_under_test_keeps_the_test_usable():
	ToDoFactory(description="kept until rollback")
	frappe.db.rollback()
	assert not frappe.db.exists("ToDo", {"description": "kept until rollback"})
	assert ToDoFactory().name


def _record_in_cache(key: str, value: str) -> None:
	frappe.cache.set_value(key, value)
	frappe.get_doc({"doctype": "ToDo", "description": f"written by a background job: {value}"}).insert()


def test_a_background_job_runs_inline_through_the_real_queue(run_background_jobs):
	key = f"integration_hub:test:{frappe.generate_hash(length=8)}"
	frappe.enqueue(_record_in_cache, key=key, value="done", enqueue_after_commit=True)
	assert run_background_jobs() == 0, "a job enqueued after commit must wait for the commit"

	frappe.db.commit()
	assert run_background_jobs() == 1

	assert frappe.cache.get_value(key) == "done"
	assert frappe.db.exists("ToDo", {"description": "written by a background job: done"})
	frappe.cache.delete_value(key)

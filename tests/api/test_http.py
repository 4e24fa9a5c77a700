"""The API over real HTTP: problem+json for every error, idempotency keys, OpenAPI."""

import threading
import time

import pytest
from openapi_spec_validator import validate

import frappe

from tests.factories import HubResourceFactory, UserFactory, issue_api_token
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.helpers import read_committed

API = "/api/method/integration_hub.api.v1"


@pytest.fixture
def editor_client(committed, http):
	committed.track(HubResourceFactory(max_batch_size=1000))
	editor = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	token = issue_api_token(editor)
	committed.commit()

	def remove_written():
		frappe.db.delete(ITEM, {"code": ("like", "HTTP-%")})
		frappe.db.delete("Hub Idempotency Key", {"user": editor.name})
		frappe.db.delete("Hub Change", {"ref_doctype": ITEM})

	committed.on_cleanup(remove_written)
	return http(token)


def assert_problem(response, status, code):
	assert response.status_code == status, response.text
	assert response.headers["Content-Type"].startswith("application/problem+json")
	body = response.json()
	assert body["code"] == code and body["status"] == status
	assert {"type", "title", "detail", "errors", "exc_type"} <= set(body)
	assert "Traceback" not in response.text and 'File \\"' not in response.text
	return body


def committed_count(code_like: str) -> int:
	return read_committed(f"select count(*) from `tab{ITEM}` where code like %s", (code_like,))[0][0]


def test_guest_gets_401_problem(http):
	for path in (f"{API}.ping", f"{API}.describe?doctype={ITEM}"):
		body = assert_problem(http().get(path), 401, "NOT_AUTHENTICATED")
		assert "Authorization: Bearer ihk_" in body["detail"], "says how to authenticate"
		assert "whitelisted" not in body["detail"]


def test_wrong_token_gets_401_problem(http):
	body = assert_problem(
		http("nobody:nothing").get(f"{API}.describe", params={"doctype": ITEM}), 401, "NOT_AUTHENTICATED"
	)
	assert "Authorization: token KEY:SECRET" in body["detail"]


def test_malformed_json_body_is_400_problem(editor_client):
	response = editor_client.post(
		f"{API}.upsert",
		data='{"doctype": "Hub Test Item", "data": {',
		headers={"Content-Type": "application/json"},
	)
	assert_problem(response, 400, "BAD_REQUEST")


def nested_list(depth: int) -> str:
	return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [40, 900, 1_200, 50_000])
def test_a_deeply_nested_json_body_is_a_400_problem_and_writes_nothing(editor_client, depth):
	"""Past about a thousand levels Python's json (which Frappe parses the body with, before any hook of
	the app runs) fails with RecursionError: that is still the client's 400, never a 500."""
	body = '{"doctype": "' + ITEM + '", "data": {"code": "HTTP-DEEP", "title": ' + nested_list(depth) + "}}"
	response = editor_client.post(f"{API}.upsert", data=body, headers={"Content-Type": "application/json"})
	assert "nested" in assert_problem(response, 400, "BAD_REQUEST")["detail"]
	assert committed_count("HTTP-DEEP") == 0


def test_a_deeply_nested_json_argument_in_the_query_string_is_a_400_problem(editor_client):
	filters = '{"title": ' + nested_list(600) + "}"  # as deep as a request line's length allows
	response = editor_client.get(f"{API}.list_documents", params={"doctype": ITEM, "filters": filters})
	assert "nested" in assert_problem(response, 400, "BAD_REQUEST")["detail"]


def test_wrong_argument_type_is_400_problem(editor_client):
	response = editor_client.post(
		f"{API}.bulk_upsert", json={"doctype": ITEM, "records": [], "atomic": {"no": 1}}
	)
	assert_problem(response, 400, "BAD_REQUEST")


def test_wrong_http_method_and_unknown_endpoint_are_problems(editor_client):
	assert editor_client.get(f"{API}.upsert", params={"doctype": ITEM}).status_code in (403, 405)
	response = editor_client.get(f"{API}.no_such_endpoint")
	assert response.headers["Content-Type"].startswith("application/problem+json")
	assert 400 <= response.status_code < 500


def test_upsert_over_http_and_unexposed_doctype(editor_client):
	response = editor_client.post(
		f"{API}.upsert", json={"doctype": ITEM, "data": {"code": "HTTP-1", "title": "x"}}
	)
	assert response.status_code == 200, response.text
	assert response.json()["message"]["status"] == "created"
	assert_problem(
		editor_client.get(f"{API}.describe", params={"doctype": "User"}), 404, "RESOURCE_NOT_EXPOSED"
	)


def test_an_idempotent_retry_replays_the_first_answer(editor_client):
	body = {"doctype": ITEM, "data": {"code": "HTTP-IDEM", "title": "once"}}
	headers = {"Idempotency-Key": "create-http-idem"}
	first = editor_client.post(f"{API}.upsert", json=body, headers=headers)
	second = editor_client.post(f"{API}.upsert", json=body, headers=headers)
	assert first.status_code == second.status_code == 200
	assert first.json() == second.json()
	assert "Idempotent-Replayed" not in first.headers
	assert second.headers["Idempotent-Replayed"] == "true"
	assert committed_count("HTTP-IDEM") == 1

	changed = editor_client.post(
		f"{API}.upsert", json={**body, "data": {"code": "HTTP-IDEM", "title": "twice"}}, headers=headers
	)
	assert_problem(changed, 422, "IDEMPOTENCY_KEY_REUSED")


def test_an_idempotent_validation_failure_is_replayed_too(editor_client):
	body = {"doctype": ITEM, "data": {"code": "HTTP-BAD", "qty": "lots"}}
	headers = {"Idempotency-Key": "bad-request"}
	first = editor_client.post(f"{API}.upsert", json=body, headers=headers)
	second = editor_client.post(f"{API}.upsert", json=body, headers=headers)
	assert_problem(first, 422, "VALIDATION_FAILED")
	assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()


def test_idempotency_keys_are_scoped_per_user(editor_client, committed, http):
	other = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	other_client = http(issue_api_token(other))
	committed.commit()
	headers = {"Idempotency-Key": "shared-key"}
	editor_client.post(f"{API}.upsert", json={"doctype": ITEM, "data": {"code": "HTTP-U1"}}, headers=headers)
	response = other_client.post(
		f"{API}.upsert", json={"doctype": ITEM, "data": {"code": "HTTP-U2"}}, headers=headers
	)
	assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
	frappe.db.delete("Hub Idempotency Key", {"user": other.name})


def test_a_retry_while_the_first_request_runs_gets_409(editor_client):
	records = [{"code": f"HTTP-SLOW-{i:04d}", "title": "slow"} for i in range(1000)]
	body = {"doctype": ITEM, "records": records}
	headers = {"Idempotency-Key": "slow-batch"}
	answers = {}

	def first_request():
		answers["first"] = editor_client.post(f"{API}.bulk_upsert", json=body, headers=headers, timeout=300)

	thread = threading.Thread(target=first_request)
	thread.start()
	deadline = time.monotonic() + 60
	while time.monotonic() < deadline and not _claimed("slow-batch"):
		time.sleep(0.05)
	assert _claimed("slow-batch"), "the first request never claimed its key"

	retry = editor_client.post(f"{API}.bulk_upsert", json=body, headers=headers)
	thread.join(300)
	assert answers["first"].status_code == 200, answers["first"].text
	if retry.status_code != 409:
		pytest.fail(
			f"a retry during the first request should be 409, got {retry.status_code}: {retry.text[:300]}"
		)
	assert_problem(retry, 409, "CONFLICT")
	replay = editor_client.post(f"{API}.bulk_upsert", json=body, headers=headers)
	assert replay.headers.get("Idempotent-Replayed") == "true"
	assert replay.json() == answers["first"].json()
	assert committed_count("HTTP-SLOW-%") == 1000


def _claimed(key: str) -> bool:
	return bool(read_committed("select 1 from `tabHub Idempotency Key` where idempotency_key = %s", (key,)))


def test_an_overlong_idempotency_key_is_400(editor_client):
	response = editor_client.post(
		f"{API}.upsert",
		json={"doctype": ITEM, "data": {"code": "HTTP-LONG"}},
		headers={"Idempotency-Key": "k" * 256},
	)
	assert_problem(response, 400, "BAD_REQUEST")
	assert committed_count("HTTP-LONG") == 0


def test_openapi_document_is_valid_and_lists_readable_resources(editor_client):
	response = editor_client.get(f"{API}.openapi")
	assert response.status_code == 200, response.text
	document = response.json()["message"]
	validate(document)
	assert document["openapi"] == "3.1.0"
	schemas = document["components"]["schemas"]
	assert "HubTestItem" in schemas
	assert "cost" not in schemas["HubTestItem"]["properties"], (
		"a permlevel-1 field is not described to an editor"
	)
	assert {f"{API}.{name}" for name in ("list_documents", "upsert", "bulk_upsert", "changes")} <= set(
		document["paths"]
	)

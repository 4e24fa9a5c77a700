"""Issue 14, clients in the field: versions and conditional requests, expansion of links, creation of
documents with generated names, and request ids followed to everything a call caused."""

import re
import threading

import pytest

import frappe

from tests.events.support import Receiver
from tests.factories import (
	CategoryFactory,
	HubResourceFactory,
	HubSubscriptionFactory,
	ItemFactory,
	UserFactory,
	UserPermissionFactory,
	issue_api_token,
)
from tests.fixtures_doctypes import (
	AUDITOR_ROLE,
	CATEGORY,
	CUSTOMER,
	EDITOR_ROLE,
	ITEM,
	ORDER,
	READER_ROLE,
)
from tests.helpers import read_committed

API = "/api/method/integration_hub.api.v1"
GENERATED_ID = re.compile(r"req_[0-9a-f]{24}")


@pytest.fixture
def editor():
	return UserFactory(roles=[EDITOR_ROLE])


@pytest.fixture
def exposed():
	"""Items, customers and orders exposed (categories are not, unless a test exposes them)."""
	HubResourceFactory(max_batch_size=1000, max_page_size=1000)
	HubResourceFactory(document_type=CUSTOMER, key_fields="customer_name")
	HubResourceFactory(document_type=ORDER, key_fields="")


def customer(name: str, preferred_item: str | None = None, credit_limit: float = 0):
	return frappe.get_doc(
		doctype=CUSTOMER, customer_name=name, preferred_item=preferred_item, credit_limit=credit_limit
	).insert()


def order(customer_name: str, items: list[str]):
	lines = [{"item": item, "qty": 1} for item in items]
	return frappe.get_doc(doctype=ORDER, customer=customer_name, lines=lines).insert()


# --- versions and conditional requests --------------------------------------------------------


def test_every_returned_document_carries_the_version_get_document_sends_as_etag(
	api, as_user, editor, exposed
):
	item = ItemFactory(code="V-1")
	with as_user(editor.name):
		status, body = api("get_document", doctype=ITEM, name=item.name)
		listed = api("list_documents", doctype=ITEM, filters={"code": "V-1"}, fields=["code"])[1]
		fed = api("changes", doctype=ITEM, limit=1000)[1]
		written = api("upsert", doctype=ITEM, data={"code": "V-1", "title": item.title})[1]
	version = body["message"]["_version"]
	assert status == 200 and re.fullmatch(r"[0-9a-f]{24}", version)
	assert listed["message"]["data"] == [{"name": item.name, "code": "V-1", "_version": version}]
	assert [c["doc"]["_version"] for c in fed["message"]["changes"] if c["name"] == item.name] == [version]
	assert written["message"]["status"] == "unchanged" and written["message"]["doc"]["_version"] == version


def test_callers_with_different_field_policies_never_share_a_version(api, as_user, exposed):
	item = ItemFactory(code="V-2", cost=5)
	versions = {}
	for role in (READER_ROLE, AUDITOR_ROLE):
		with as_user(UserFactory(roles=[role]).name):
			versions[role] = api("get_document", doctype=ITEM, name=item.name)[1]["message"]
	assert "cost" in versions[AUDITOR_ROLE] and "cost" not in versions[READER_ROLE]
	assert versions[AUDITOR_ROLE]["_version"] != versions[READER_ROLE]["_version"]


@pytest.fixture
def http_editor(committed, http):
	committed.track(HubResourceFactory(max_batch_size=1000))
	committed.track(HubResourceFactory(document_type=ORDER, key_fields=""))
	user = committed.track(UserFactory(roles=[EDITOR_ROLE]))
	token = issue_api_token(user)
	committed.commit()

	def remove_written():
		frappe.db.delete(ITEM, {"code": ("like", "FIELD-%")})
		frappe.db.delete(ORDER, {"remarks": ("like", "FIELD-%")})
		frappe.db.delete("Hub Idempotency Key", {"user": user.name})
		frappe.db.delete("Hub Change", {"ref_doctype": ("in", (ITEM, ORDER))})

	committed.on_cleanup(remove_written)
	return http(token), user


def committed_item(client, code: str, title: str = "first") -> dict:
	response = client.post(f"{API}.upsert", json={"doctype": ITEM, "data": {"code": code, "title": title}})
	assert response.status_code == 200, response.text
	return response.json()["message"]


def test_if_none_match_answers_304_for_the_exact_current_version_only(http_editor):
	client, _user = http_editor
	written = committed_item(client, "FIELD-304")
	params = {"doctype": ITEM, "name": written["name"]}
	first = client.get(f"{API}.get_document", params=params)
	etag = first.headers["ETag"]
	assert first.status_code == 200 and etag == f'"{written["doc"]["_version"]}"'

	not_modified = client.get(f"{API}.get_document", params=params, headers={"If-None-Match": etag})
	assert not_modified.status_code == 304 and not_modified.content == b""
	assert not_modified.headers["ETag"] == etag and GENERATED_ID.fullmatch(
		not_modified.headers["X-Request-Id"]
	)

	other = client.get(
		f"{API}.get_document", params=params, headers={"If-None-Match": '"0123456789abcdef01234567"'}
	)
	assert other.status_code == 200 and other.headers["ETag"] == etag

	committed_item(client, "FIELD-304", "second")
	stale = client.get(f"{API}.get_document", params=params, headers={"If-None-Match": etag})
	assert stale.status_code == 200 and stale.headers["ETag"] != etag
	assert stale.json()["message"]["title"] == "second"


def test_a_304_never_tells_a_caller_who_may_not_read_that_the_document_exists(api, as_user, exposed):
	allowed, hidden = CategoryFactory(), CategoryFactory()
	item = ItemFactory(code="V-HIDDEN", category=hidden.name)
	reader = UserFactory(roles=[READER_ROLE])
	UserPermissionFactory(user=reader.name, for_value=allowed.name)
	version = api("get_document", doctype=ITEM, name=item.name)[1]["message"]["_version"]  # Administrator's
	with as_user(reader.name):
		frappe.local.request = _request_with({"If-None-Match": f'"{version}"'})
		try:
			status, body = api("get_document", doctype=ITEM, name=item.name)
		finally:
			del frappe.local.request
	assert status == 404 and body["code"] == "NOT_FOUND"


def test_a_304_through_sharing_only_for_the_shared_document(api, as_user, exposed):
	"""No User Permissions: the version is read in one permission-filtered query (the shared document
	only), and a document the caller may not read falls through to the full check: 404."""
	shared, unshared = ItemFactory(code="V-SHARED"), ItemFactory(code="V-UNSHARED")
	outsider = UserFactory(roles=["Blogger"])  # no role permission on Items
	frappe.share.add(ITEM, shared.name, outsider.name, read=1)
	versions = {}
	for item in (shared, unshared):
		with as_user(outsider.name if item is shared else "Administrator"):
			versions[item.name] = api("get_document", doctype=ITEM, name=item.name)[1]["message"]["_version"]
	with as_user(outsider.name):
		answers = {}
		for item in (shared, unshared):
			frappe.local.request = _request_with({"If-None-Match": f'"{versions[item.name]}"'})
			try:
				answers[item.name] = api("get_document", doctype=ITEM, name=item.name)[0]
			finally:
				del frappe.local.request
	assert answers == {shared.name: 304, unshared.name: 404}


def _request_with(headers: dict):
	from werkzeug.test import EnvironBuilder

	return EnvironBuilder(headers=headers).get_request()


def test_a_stale_upsert_delete_or_bulk_record_is_412_and_writes_nothing(api, as_user, editor, exposed):
	item = ItemFactory(code="V-STALE", title="first")
	other = ItemFactory(code="V-OTHER", title="first")
	with as_user(editor.name):
		old = api("get_document", doctype=ITEM, name=item.name)[1]["message"]["_version"]
		api("upsert", doctype=ITEM, data={"code": "V-STALE", "title": "by someone else"})
		status, problem = api(
			"upsert", doctype=ITEM, data={"code": "V-STALE", "title": "mine", "_version": old}
		)
		assert status == 412 and problem["code"] == "PRECONDITION_FAILED"
		assert problem["current"]["title"] == "by someone else"
		assert problem["current_version"] == problem["current"]["_version"] != old
		assert frappe.db.get_value(ITEM, item.name, "title") == "by someone else"

		status, problem = api("delete_document", doctype=ITEM, name=item.name, if_match=old)
		assert status == 412 and frappe.db.exists(ITEM, item.name)

		results = api(
			"bulk_upsert",
			doctype=ITEM,
			records=[
				{"code": "V-STALE", "title": "bulk", "_version": old},
				{
					"code": "V-OTHER",
					"title": "bulk",
					"_version": api("get_document", doctype=ITEM, name=other.name)[1]["message"]["_version"],
				},
				{"code": "V-NEW", "title": "bulk", "_version": old},
			],
		)[1]["message"]["results"]
		assert [r["status"] for r in results] == ["failed", "updated", "failed"]
		assert results[0]["error"]["code"] == "PRECONDITION_FAILED" and results[0]["error"]["current_version"]
		assert results[2]["error"]["current_version"] is None  # no document has that key
		assert not frappe.db.exists(ITEM, {"code": "V-NEW"})

		current = problem["current_version"]
		status, body = api(
			"upsert", doctype=ITEM, data={"code": "V-STALE", "title": "mine", "_version": current}
		)
		assert status == 200 and body["message"]["status"] == "updated"
		current = body["message"]["doc"]["_version"]
		status, body = api("delete_document", doctype=ITEM, name=item.name, if_match=current)
		assert status == 200 and not frappe.db.exists(ITEM, item.name)


def test_412_under_a_concurrent_edit_from_another_client_over_http(http_editor, http):
	client, _user = http_editor
	written = committed_item(client, "FIELD-412")
	version = written["doc"]["_version"]
	second_client = http(client.headers["Authorization"].removeprefix("token "))

	# Another client saves first: the first client's write, made on what it read, is refused.
	committed_item(second_client, "FIELD-412", "theirs")
	body = {"doctype": ITEM, "data": {"code": "FIELD-412", "title": "mine"}}
	refused = client.post(f"{API}.upsert", json=body, headers={"If-Match": f'"{version}"'})
	assert refused.status_code == 412, refused.text
	problem = refused.json()
	assert problem["code"] == "PRECONDITION_FAILED" and problem["current"]["title"] == "theirs"
	assert problem["request_id"] == refused.headers["X-Request-Id"]
	assert read_committed(f"select title from `tab{ITEM}` where code = 'FIELD-412'") == [["theirs"]]

	# Two clients write on the same version at once: one wins, the other is told.
	version = problem["current_version"]
	barrier, answers = threading.Barrier(2), []

	def write(session, title):
		barrier.wait()
		answers.append(
			session.post(
				f"{API}.upsert",
				json={"doctype": ITEM, "data": {"code": "FIELD-412", "title": title}},
				headers={"If-Match": f'"{version}"'},
			)
		)

	threads = [threading.Thread(target=write, args=(s, t)) for s, t in ((client, "a"), (second_client, "b"))]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join(60)
	assert sorted(answer.status_code for answer in answers) == [200, 412], [a.text for a in answers]
	winner = next(a for a in answers if a.status_code == 200).json()["message"]["doc"]["title"]
	assert read_committed(f"select title from `tab{ITEM}` where code = 'FIELD-412'") == [[winner]]


# --- expansion of links ---------------------------------------------------------------------


def test_expand_honours_user_permissions_and_permlevels_at_the_second_level(api, as_user, exposed):
	allowed, hidden = CategoryFactory(), CategoryFactory()
	visible_item = ItemFactory(code="E-VISIBLE", category=allowed.name, cost=7)
	hidden_item = ItemFactory(code="E-HIDDEN", category=hidden.name, cost=9)
	buyer = customer("E-Buyer", preferred_item=hidden_item.name, credit_limit=1000)
	sale = order(buyer.name, [visible_item.name, hidden_item.name])
	expand = ["customer.preferred_item", "lines.item"]

	auditor = UserFactory(roles=[AUDITOR_ROLE])
	with as_user(auditor.name):
		doc = api("get_document", doctype=ORDER, name=sale.name, expand=expand)[1]["message"]
	assert doc["customer"]["credit_limit"] == 1000 and doc["customer"]["_version"]
	assert doc["customer"]["preferred_item"]["cost"] == 9
	assert [line["item"]["cost"] for line in doc["lines"]] == [7, 9]

	reader = UserFactory(roles=[READER_ROLE])
	UserPermissionFactory(user=reader.name, for_value=allowed.name)
	with as_user(reader.name):
		doc = api("get_document", doctype=ORDER, name=sale.name, expand=expand)[1]["message"]
	assert doc["customer"]["customer_name"] == "E-Buyer" and "credit_limit" not in doc["customer"]
	assert doc["customer"]["preferred_item"] == hidden_item.name  # not readable: a plain name
	assert doc["lines"][0]["item"]["code"] == "E-VISIBLE" and "cost" not in doc["lines"][0]["item"]
	assert doc["lines"][1]["item"] == hidden_item.name


def test_links_to_unexposed_doctypes_stay_names_and_bad_paths_are_400(api, as_user, editor, exposed):
	category = CategoryFactory()
	item = ItemFactory(code="E-CAT", category=category.name)
	with as_user(editor.name):
		doc = api("get_document", doctype=ITEM, name=item.name, expand=["category.anything"])[1]["message"]
		assert doc["category"] == category.name
		for path in (["title"], ["nope"], ["rows"], "customer"):
			status, problem = api("get_document", doctype=ITEM, name=item.name, expand=path)
			assert status == 400 and problem["errors"][0]["pointer"] == "/expand/0", path
		status, problem = api("list_documents", doctype=ORDER, expand=["lines.item"])
		assert status == 400  # list rows carry no child tables

	HubResourceFactory(document_type=CATEGORY, key_fields="category_name")
	with as_user(editor.name):
		doc = api("get_document", doctype=ITEM, name=item.name, expand="category")[1]["message"]
		assert doc["category"]["category_name"] == category.category_name
		buyer = customer("E-Deep", preferred_item=item.name)
		sale = order(buyer.name, [])
		status, problem = api(
			"get_document", doctype=ORDER, name=sale.name, expand=["customer.preferred_item.category"]
		)
		assert status == 400 and "2 links deep" in problem["detail"]


def test_a_page_of_100_with_an_expansion_runs_a_bounded_number_of_queries(
	api, as_user, editor, exposed, monkeypatch
):
	HubResourceFactory(document_type=CATEGORY, key_fields="category_name")
	for index in range(100):
		ItemFactory(code=f"E-N1-{index:03d}", category=CategoryFactory().name)
	statements = []
	original = frappe.db.sql

	def counting(query, *args, **kwargs):
		statements.append(str(query))
		return original(query, *args, **kwargs)

	def queries(limit: int, expand=None) -> int:
		statements.clear()
		monkeypatch.setattr(frappe.db, "sql", counting)
		try:
			status, body = api(
				"list_documents",
				doctype=ITEM,
				filters={"code": ["like", "E-N1-%"]},
				limit=limit,
				expand=expand,
			)
		finally:
			monkeypatch.setattr(frappe.db, "sql", original)
		assert status == 200 and len(body["message"]["data"]) == limit
		if expand:
			assert all(isinstance(row["category"], dict) for row in body["message"]["data"])
		return len(statements)

	with as_user(editor.name):
		queries(5, ["category"])  # warm the caches
		plain, page_of_10, page_of_100 = queries(100), queries(10, ["category"]), queries(100, ["category"])
	assert page_of_100 == page_of_10, "the cost of an expansion does not grow with the rows"
	assert page_of_100 - plain <= 3, statements


# --- creation with generated names --------------------------------------------------------------


def test_create_document_names_by_the_doctypes_rule_and_validates_as_upserts(api, as_user, editor, exposed):
	buyer = customer("C-Buyer")
	with as_user(editor.name):
		status, body = api("create_document", doctype=ORDER, data={"customer": buyer.name, "remarks": "one"})
		assert status == 200 and body["message"]["status"] == "created"
		assert body["message"]["name"].startswith("HTO-") and body["message"]["doc"]["_version"]

		status, problem = api("create_document", doctype=ORDER, data={"name": "HTO-99999", "remarks": "x"})
		assert status == 422 and problem["errors"][0]["pointer"] == "/data/name"
		status, problem = api("create_document", doctype=ORDER, data={"remarks": "x", "owner": "someone"})
		assert status == 422 and problem["errors"][0]["pointer"] == "/data/owner"
		status, problem = api("create_document", doctype=ITEM, data={"code": "C-1"})
		assert status == 200
		status, problem = api("create_document", doctype=ITEM, data={"code": "C-1"})
		assert status == 409, "a natural key that exists is upserted, never duplicated"

		results = api(
			"bulk_upsert",
			doctype=ORDER,
			mode="create",
			records=[{"remarks": "bulk a"}, {"remarks": "bulk b", "nope": 1}, {"remarks": "bulk c"}],
		)[1]["message"]["results"]
	assert [r["status"] for r in results] == ["created", "failed", "created"]
	assert results[0]["name"] != results[2]["name"] and results[1]["error"]["code"] == "VALIDATION_FAILED"

	reader = UserFactory(roles=[READER_ROLE])
	with as_user(reader.name):
		assert api("create_document", doctype=ORDER, data={"remarks": "x"})[0] == 403


def test_create_document_retried_with_the_same_idempotency_key_creates_one_document(http_editor):
	client, _user = http_editor
	body = {"doctype": ORDER, "data": {"remarks": "FIELD-once"}}
	headers = {"Idempotency-Key": "field-create-once"}
	first = client.post(f"{API}.create_document", json=body, headers=headers)
	retry = client.post(f"{API}.create_document", json=body, headers=headers)
	assert first.status_code == retry.status_code == 200, first.text
	assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
	assert read_committed(f"select count(*) from `tab{ORDER}` where remarks = 'FIELD-once'") == [[1]]


# --- request ids --------------------------------------------------------------------------------


def test_every_answer_carries_a_request_id_the_clients_own_if_well_formed(http_editor, http):
	client, _user = http_editor
	generated = client.get(f"{API}.ping")
	assert GENERATED_ID.fullmatch(generated.headers["X-Request-Id"])
	own = client.get(f"{API}.ping", headers={"X-Request-Id": "scanner-7:batch.42_a"})
	assert own.headers["X-Request-Id"] == "scanner-7:batch.42_a"
	for malformed in ("has space", "x" * 201, "semi;colon"):
		answer = client.get(f"{API}.ping", headers={"X-Request-Id": malformed})
		assert GENERATED_ID.fullmatch(answer.headers["X-Request-Id"]), malformed

	problem = client.get(f"{API}.describe", params={"doctype": "User"}, headers={"X-Request-Id": "lookup-1"})
	assert problem.status_code == 404 and problem.json()["request_id"] == "lookup-1"
	assert problem.headers["X-Request-Id"] == "lookup-1"
	refused = http().get(f"{API}.ping", headers={"X-Request-Id": "guest-1"})  # Frappe's own refusal
	assert refused.status_code == 401 and refused.headers["X-Request-Id"] == "guest-1"
	assert refused.json()["request_id"] == "guest-1"
	mcp = client.post(
		"/api/method/integration_hub.api.mcp",
		json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
		headers={"X-Request-Id": "mcp-1"},
	)
	assert mcp.headers["X-Request-Id"] == "mcp-1"


def test_a_request_id_leads_to_the_change_and_the_delivery_it_caused(
	http_editor, committed, run_background_jobs
):
	client, _user = http_editor
	receiver = Receiver().start()
	committed.on_cleanup(receiver.stop)
	subscription = committed.track(HubSubscriptionFactory(endpoint_url=receiver.url))
	committed.commit()
	committed.on_cleanup(lambda: frappe.db.delete("Hub Delivery", {"subscription": subscription.name}))

	response = client.post(
		f"{API}.upsert",
		json={"doctype": ITEM, "data": {"code": "FIELD-TRACE", "title": "traced"}},
		headers={"X-Request-Id": "order-sync-2026-12-01:17"},
	)
	assert response.status_code == 200 and response.headers["X-Request-Id"] == "order-sync-2026-12-01:17"
	name = response.json()["message"]["name"]
	assert read_committed(
		"select docname, operation from `tabHub Change` where request_id = %s", ("order-sync-2026-12-01:17",)
	) == [[name, "upsert"]]
	committed.commit()  # a fresh snapshot: what the server committed
	event = frappe.get_list(
		"Hub Event", filters={"request_id": "order-sync-2026-12-01:17"}, fields=["name", "reference_name"]
	)
	assert [e.reference_name for e in event] == [name]

	assert run_background_jobs() >= 1
	[delivered] = [r for r in receiver.received if r.json()["data"]["name"] == name]
	assert delivered.headers["hub-request-id"] == "order-sync-2026-12-01:17"
	assert delivered.json()["request"] == {"id": "order-sync-2026-12-01:17"}
	assert delivered.event_id == event[0].name

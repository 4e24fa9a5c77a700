"""Property-based tests: arbitrary strings, numbers, nested JSON and SQL fragments thrown at every
argument of every document endpoint, over real HTTP. The API must answer with a problem+json 4xx (or
a plain success where the input happens to be valid for a read, or an empty bulk batch), never a 5xx,
and never change the database: the writes below can never form a valid record (the key field is never
sent), and the two records a delete could name by a `key` of other fields are alike in all of them, so
such a key is ambiguous (409), never one record.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures_doctypes import ITEM
from tests.helpers import read_committed

API = "/api/method/integration_hub.api.v1"
EXAMPLES = 200
SQL_FRAGMENTS = [
	"' OR '1'='1",
	"1; DROP TABLE `tabUser`; --",
	"name`, (select password from `__Auth`) as `x",
	"modified desc, (select sleep(1))",
	'") or 1=1 -- ',
	"%' union select * from `tabUser` -- ",
	"\\x00\\'",
	"tabUser",
	"*",
]
# Real field names (but never the key field `code`, so a write can never be a valid record).
FIELDNAMES = [
	"title",
	"qty",
	"status",
	"category",
	"notes",
	"computed",
	"cost",
	"rows",
	"name",
	"owner",
	"docstatus",
]

scalars = (
	st.none()
	| st.booleans()
	| st.integers(min_value=-(2**63), max_value=2**63)
	| st.floats(allow_nan=False, allow_infinity=False)
	| st.text(max_size=40)
	| st.sampled_from(SQL_FRAGMENTS)
)
json_values = st.recursive(
	scalars,
	lambda children: (
		st.lists(children, max_size=4)
		| st.dictionaries(st.sampled_from(FIELDNAMES) | st.text(max_size=12), children, max_size=4)
	),
	max_leaves=12,
)
arguments = json_values | json_values.map(json.dumps) | st.sampled_from(SQL_FRAGMENTS)
records_without_key = st.dictionaries(
	st.sampled_from(FIELDNAMES) | st.text(max_size=12), json_values, max_size=5
)


def as_query_value(value: object) -> str:
	return value if isinstance(value, str) else json.dumps(value)


ENDPOINTS = {
	"describe": ("get", {"doctype": arguments | st.just(ITEM)}),
	"get_document": (
		"get",
		{"doctype": st.just(ITEM) | arguments, "name": arguments, "key": arguments, "expand": arguments},
	),
	"list_documents": (
		"get",
		{
			"doctype": st.just(ITEM) | arguments,
			"fields": arguments,
			"filters": arguments,
			"order_by": arguments,
			"limit": arguments,
			"cursor": arguments,
			"expand": arguments,
		},
	),
	"changes": (
		"get",
		{"doctype": st.just(ITEM) | arguments, "cursor": arguments, "limit": arguments, "expand": arguments},
	),
	"upsert": (
		"post",
		{
			"doctype": st.just(ITEM) | arguments,
			"data": records_without_key | arguments,
			"key": arguments,
			"submit": arguments,
		},
	),
	"create_document": (
		"post",
		{"doctype": st.just(ITEM) | arguments, "data": records_without_key | arguments, "submit": arguments},
	),
	"bulk_upsert": (
		"post",
		{
			"doctype": st.just(ITEM) | arguments,
			"records": st.lists(records_without_key | arguments, max_size=4) | arguments,
			"atomic": arguments,
			"key": arguments,
			"mode": arguments | st.sampled_from(["upsert", "create"]),
		},
	),
	"delete_document": (
		"post",
		{"doctype": st.just(ITEM) | arguments, "name": arguments, "key": arguments, "if_match": arguments},
	),
	**{
		endpoint: (
			"post",
			{
				"doctype": st.just(ITEM) | arguments,
				"name": arguments,
				"key": arguments,
				"if_match": arguments,
				**(
					{"data": records_without_key | arguments, "submit": arguments}
					if endpoint == "amend_document"
					else {}
				),
			},
		)
		for endpoint in ("submit_document", "cancel_document", "amend_document")
	},
	"openapi": ("get", {"unexpected": arguments}),
	"ping": ("get", {"unexpected": arguments}),
}


def fuzz_settings(examples: int) -> settings:
	"""Hypothesis settings of the HTTP fuzz tests: no deadline (a real server answers), no example
	database, and the health checks that a function-scoped server fixture and large inputs trip."""
	return settings(
		max_examples=examples,
		deadline=None,
		database=None,
		suppress_health_check=[
			HealthCheck.function_scoped_fixture,
			HealthCheck.too_slow,
			HealthCheck.data_too_large,
		],
	)


def database_state(endpoint: str | None = None) -> tuple:
	queries = [
		f"select count(*), coalesce(sum(qty), 0), max(modified) from `tab{ITEM}`",
		"select count(*), coalesce(max(name), 0) from `tabHub Change`",
	]
	if endpoint != "bulk_upsert":
		# A bulk call whose every record failed (or an empty one) is a 200 that an Idempotency-Key stores,
		# rightly; for the other endpoints a stored success would be a write that arbitrary input made.
		queries.append(
			"select count(*) from `tabHub Idempotency Key` where status = 'Completed' and response_status < 400"
		)
	return tuple(read_committed(query)[0] for query in queries)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_arbitrary_input_never_breaks_the_api(fuzz_client, endpoint):
	method, argument_strategies = ENDPOINTS[endpoint]
	before = database_state(endpoint)

	@fuzz_settings(EXAMPLES)
	@given(
		st.fixed_dictionaries({}, optional=argument_strategies),
		st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300),
	)
	def check(sent: dict, idempotency_key: str | None):
		headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
		if method == "get":
			response = fuzz_client.get(
				f"{API}.{endpoint}", params={k: as_query_value(v) for k, v in sent.items()}, headers=headers
			)
		else:
			response = fuzz_client.post(f"{API}.{endpoint}", json=sent, headers=headers)
		assert response.status_code < 500, (sent, response.status_code, response.text[:500])
		if response.status_code >= 400:
			assert response.headers["Content-Type"].startswith("application/problem+json"), response.text[
				:300
			]
			body = response.json()
			assert body["status"] == response.status_code and body["code"].isupper()
			assert "Traceback" not in response.text
		else:
			answer = response.json()["message"]
			if endpoint == "bulk_upsert":  # an empty batch is valid and writes nothing
				assert all(result["status"] == "failed" for result in answer["results"]), sent
			else:
				assert method == "get", f"a write succeeded with {sent}"

	check()
	assert database_state(endpoint) == before, "arbitrary input changed the database"

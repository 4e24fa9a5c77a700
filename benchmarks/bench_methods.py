"""Issue 26's curated-method call: `call_method` of a Hub Method against the same whitelisted method at
`/api/method/<path>`, over HTTP against the runner's gunicorn (2 workers), both POSTing the same JSON
arguments as the same user (Frappe token authentication; a Hub API key cannot call /api/method).

The method is Frappe's `get_default_address` (one indexed query, the same on every v15 site), so that
what differs is the hub's part of a call: the Hub Method's lookup, the argument check, problem+json.
The two requests alternate one by one, LATENCY_REQUESTS of each per round, ROUNDS rounds after warm-up;
a round's ratio is the ratio of its medians and the median round counts. Target: <= 1.1x.
"""

import frappe

from benchmarks.bench_documents import expect_ok
from benchmarks.harness import Context, compare_latency, rounds_text, row

ROUNDS = 3
LATENCY_REQUESTS = 40
METHOD_NAME = "benchmark_default_address"
METHOD_PATH = "frappe.contacts.doctype.address.address.get_default_address"
ARGUMENTS = {"doctype": "Customer", "name": "Benchmark Customer"}
CALL_METHOD = "/api/method/integration_hub.api.v1.call_method"
CALL_VS_API_METHOD = 1.1


def run(context: Context) -> list[dict]:
	client = context.http()
	return [call_row(context, client, only_reads=False), call_row(context, client, only_reads=True)]


def call_row(context: Context, client, only_reads: bool) -> dict:
	"""The Hub Method as it is (Only Reads unticked), then with Only Reads ticked: the hub then rolls
	back to a savepoint after the call, whatever the method wrote (two statements more)."""
	ensure_hub_method(only_reads)
	requests = {
		"call_method": lambda: post(client, CALL_METHOD, {"method": METHOD_NAME, "args": ARGUMENTS})[
			"result"
		],
		"/api/method": lambda: post(client, f"/api/method/{METHOD_PATH}", ARGUMENTS).get("message"),
	}
	ours, theirs = requests["call_method"](), requests["/api/method"]()
	if ours != theirs:
		raise AssertionError(f"call_method and /api/method disagree: {ours} / {theirs}")
	comparison = compare_latency(
		context, *requests.items(), rounds=ROUNDS, requests_per_round=LATENCY_REQUESTS
	)
	variant = "Only Reads (rolled back)" if only_reads else "as it is"
	return row(
		f"(26c) a curated method, {variant}: call_method vs POST /api/method/<path>",
		f"/api/method: {comparison.median_ms('/api/method'):.2f} ms",
		f"call_method: {comparison.median_ms('call_method'):.2f} ms; rounds {rounds_text(comparison.ratios)}",
		comparison.ratio,
		f"<= {CALL_VS_API_METHOD}x",
		comparison.ratio <= CALL_VS_API_METHOD,
	)


def ensure_hub_method(only_reads: bool) -> None:
	if frappe.db.exists("Hub Method", METHOD_NAME):
		method = frappe.get_doc("Hub Method", METHOD_NAME)
	else:
		method = frappe.get_doc(
			{"doctype": "Hub Method", "method_name": METHOD_NAME, "method_path": METHOD_PATH}
		)
	method.only_reads = int(only_reads)
	method.save()
	frappe.db.commit()


def post(client, url: str, body: dict) -> dict:
	response = client.post(url, json=body)
	expect_ok(response, url)
	return response.json().get("message") or {}

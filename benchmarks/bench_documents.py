"""Issue 3's document benchmarks, on a DocType this module creates with more than 200,000 rows.

(a) Writing 1,000 new documents: `bulk_upsert` in one HTTP call, against 1,000 `POST /api/resource`
    calls, `frappe.client.insert_many` in batches of 200, and an in-process `frappe.get_doc().insert()`
    loop in this process. Every path runs as the same user, writes the same fields of the same DocType
    with fresh keys, and commits (the in-process loop commits once at its end). Each path is measured
    ROUNDS times, interleaved, after warming every web server worker up; the median rate counts.
    Targets: bulk_upsert >= 0.8x the in-process loop's rate, >= 6x the per-document REST rate.

(b) The cost of one page at depth 200,000 against page 1, with the same fields, order and page size:
    `list_documents` follows `next_cursor` from the start with the largest page size (as a client
    walking the table does) until its cursor stands after row 200,000, then the request that returns
    rows 200,001-200,020 is timed against the first page's request. `/api/resource` is timed with
    limit_start=200000 against limit_start=0. Each request is repeated REPEAT times (interleaved) and
    the median counts. Target: list_documents' deep page <= 1.5x its first page.

The table is filled by multi-row INSERT statements (setup, not measured), with distinct `modified`
values, all older than the documents the benchmark writes. The DocType, its Hub Resource and the rows
stay on the site, so another run against it (`--site`) skips the filling.
"""

import json
import statistics
import time

import frappe
from frappe.utils import add_to_date, now_datetime

from benchmarks.harness import RECORD_FIELDS, SERVER_WORKERS, Context, elapsed, ensure_custom_doctype, row
from tests.fixtures_doctypes import expose_fully

DOCTYPE = "Hub Benchmark Record"
TABLE_ROWS = 205_000  # more than DEPTH + a page, before the benchmark's own writes
DEPTH = 200_000
FILL_CHUNK = 5_000
WRITES = 1_000
INSERT_MANY_BATCH = 200  # Frappe's limit per insert_many call
WARM_UP = 20  # documents per warm-up call
ROUNDS = 3
PAGE_SIZE = 20
WALK_PAGE_SIZE = 1_000  # the largest page size a Hub Resource allows
REPEAT = 15
ORDER = "modified asc"
FIELDS = [
	"name",
	"creation",
	"modified",
	"docstatus",
	"owner",
	"modified_by",
	"code",
	"title",
	"qty",
	"status",
	"notes",
]
LIST_DOCUMENTS = "/api/method/integration_hub.api.v1.list_documents"
BULK_UPSERT = "/api/method/integration_hub.api.v1.bulk_upsert"
INSERT_MANY = "/api/method/frappe.client.insert_many"
RESOURCE = f"/api/resource/{DOCTYPE}"

# The targets of issue 3.
BULK_VS_IN_PROCESS = 0.8
BULK_VS_REST = 6.0
DEEP_VS_FIRST = 1.5


def run(context: Context) -> list[dict]:
	ensure_custom_doctype(DOCTYPE, RECORD_FIELDS)
	ensure_resource()
	fill_table(context)
	return write_rates(context) + deep_pages(context)


# --- setup -----------------------------------------------------------------------------------


def ensure_resource() -> None:
	expose_fully(DOCTYPE)
	frappe.db.commit()


def fill_table(context: Context) -> None:
	"""Top the table up to TABLE_ROWS rows with multi-row INSERTs; rows older than anything written later."""
	existing = frappe.db.sql(f"select count(*) from `tab{DOCTYPE}`")[0][0]
	missing = TABLE_ROWS - existing
	if missing <= 0:
		context.log(f"{DOCTYPE} has {existing:,} rows already")
		return
	context.log(f"filling {DOCTYPE} with {missing:,} rows")
	start = time.perf_counter()
	oldest = add_to_date(now_datetime(), days=-30, seconds=-TABLE_ROWS)
	columns = "name, creation, modified, owner, modified_by, docstatus, idx, code, title, qty, status, notes"
	for chunk_start in range(existing, TABLE_ROWS, FILL_CHUNK):
		values, placeholders = [], []
		for i in range(chunk_start, min(chunk_start + FILL_CHUNK, TABLE_ROWS)):
			stamp = add_to_date(oldest, seconds=i)
			values += [
				f"fill-{i:07d}",
				stamp,
				stamp,
				"Administrator",
				"Administrator",
				0,
				0,
				f"FILL-{i:07d}",
				f"Pre-filled record {i}",
				i % 1000,
				"Open" if i % 3 else "Closed",
				"Inserted by SQL as benchmark setup",
			]
			placeholders.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
		frappe.db.sql(f"insert into `tab{DOCTYPE}` ({columns}) values {', '.join(placeholders)}", values)
		frappe.db.commit()
	context.log(f"filled in {time.perf_counter() - start:.1f} s")


# --- (a) write rates -------------------------------------------------------------------------


def write_rates(context: Context) -> list[dict]:
	client = context.http()
	run_id = frappe.generate_hash(length=8)
	paths = {
		"in_process": lambda records: insert_in_process(context, records),
		"bulk_upsert": lambda records: bulk_upsert(client, records),
		"rest": lambda records: _post_each(client, records),
		"insert_many": lambda records: insert_many(client, records),
	}
	for path, write in paths.items():  # a few calls each, so that every web server worker is warm
		for warm_up in range(2 * SERVER_WORKERS):
			write(records_for(run_id, f"{path}-warm{warm_up}", WARM_UP))
	seconds: dict[str, list[float]] = {path: [] for path in paths}
	for round_number in range(ROUNDS):
		for path, write in paths.items():
			records = records_for(run_id, f"{path}-{round_number}", WRITES)
			seconds[path].append(elapsed(lambda write=write, records=records: write(records)))
			check_written(run_id, f"{path}-{round_number}")
			context.log(f"round {round_number + 1}/{ROUNDS}: {path} {WRITES / seconds[path][-1]:,.0f} docs/s")
	rate = {path: WRITES / statistics.median(times) for path, times in seconds.items()}

	def rate_row(baseline: str, label: str, target: float | None) -> dict:
		ratio = rate["bulk_upsert"] / rate[baseline]
		return row(
			f"(a) {WRITES:,} new docs: bulk_upsert vs {label}",
			f"{label}: {rate[baseline]:,.0f} docs/s",
			f"bulk_upsert (1 call): {rate['bulk_upsert']:,.0f} docs/s",
			ratio,
			f">= {target}x" if target else None,
			ratio >= target if target else None,
		)

	return [
		rate_row("in_process", "in-process get_doc().insert() loop", BULK_VS_IN_PROCESS),
		rate_row("rest", f"{WRITES:,} x POST /api/resource", BULK_VS_REST),
		rate_row("insert_many", f"insert_many, batches of {INSERT_MANY_BATCH}", None),
	]


def records_for(run_id: str, batch: str, count: int) -> list[dict]:
	return [
		{
			"code": f"{run_id}-{batch}-{i:04d}",
			"title": f"Benchmark record {i}",
			"qty": i,
			"status": "Open",
			"notes": "Written by the integration_hub benchmark",
		}
		for i in range(count)
	]


def insert_in_process(context: Context, records: list[dict]) -> None:
	with context.as_benchmark_user():
		for record in records:
			frappe.get_doc({"doctype": DOCTYPE, **record}).insert()
		frappe.db.commit()


def bulk_upsert(client, records: list[dict], expected: str = "created") -> None:
	response = client.post(BULK_UPSERT, json={"doctype": DOCTYPE, "records": records})
	expect_ok(response, "bulk_upsert")
	statuses = {result["status"] for result in response.json()["message"]["results"]}
	if statuses != {expected}:
		raise AssertionError(f"bulk_upsert answered statuses {statuses}, expected only {expected!r}")


def _post_each(client, records: list[dict]) -> None:
	for record in records:
		expect_ok(client.post(RESOURCE, json=record), "POST /api/resource")


def insert_many(client, records: list[dict]) -> None:
	for start in range(0, len(records), INSERT_MANY_BATCH):
		docs = [{"doctype": DOCTYPE, **record} for record in records[start : start + INSERT_MANY_BATCH]]
		expect_ok(client.post(INSERT_MANY, json={"docs": docs}), "insert_many")


def check_written(run_id: str, batch: str, count: int = WRITES) -> None:
	frappe.db.rollback()  # a new snapshot: see what the web server committed
	written = frappe.db.count(DOCTYPE, {"code": ["like", f"{run_id}-{batch}-%"]})
	if written != count:
		raise AssertionError(f"{batch}: {written} documents written, expected {count}")


# --- (b) deep pages --------------------------------------------------------------------------


def deep_pages(context: Context) -> list[dict]:
	client = context.http()
	context.log(f"walking list_documents to depth {DEPTH:,} in pages of {WALK_PAGE_SIZE:,}")
	walk_start = time.perf_counter()
	cursor, walk_times = _walk_to_depth(client)
	context.log(f"walked in {time.perf_counter() - walk_start:.1f} s")

	def list_page(cursor: str | None):
		params = {"doctype": DOCTYPE, "fields": json.dumps(FIELDS), "order_by": ORDER, "limit": PAGE_SIZE}
		if cursor:
			params["cursor"] = cursor
		return get_json(client, LIST_DOCUMENTS, params)["message"]["data"]

	def resource_page(start: int):
		params = {
			"fields": json.dumps(FIELDS),
			"order_by": ORDER,
			"limit_start": start,
			"limit_page_length": PAGE_SIZE,
		}
		return get_json(client, RESOURCE, params)["data"]

	deep_rows = list_page(cursor)
	offset_rows = resource_page(DEPTH)
	if [r["name"] for r in deep_rows] != [r["name"] for r in offset_rows] or len(deep_rows) != PAGE_SIZE:
		raise AssertionError("list_documents' deep page and /api/resource's limit_start page differ")
	context.log(f"both deep pages return rows {DEPTH + 1:,}-{DEPTH + PAGE_SIZE:,}: {deep_rows[0]['code']}...")

	timed = {
		"list_first": lambda: list_page(None),
		"list_deep": lambda: list_page(cursor),
		"resource_first": lambda: resource_page(0),
		"resource_deep": lambda: resource_page(DEPTH),
	}
	for _ in range(2 * SERVER_WORKERS):  # warm up every web server worker
		for request in timed.values():
			request()
	times: dict[str, list[float]] = {name: [] for name in timed}
	for _ in range(REPEAT):
		for name, request in timed.items():
			times[name].append(elapsed(request))
	ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
	context.log("medians: " + ", ".join(f"{name} {value:.1f} ms" for name, value in ms.items()))

	list_ratio = ms["list_deep"] / ms["list_first"]
	resource_ratio = ms["resource_deep"] / ms["resource_first"]
	walk_first = statistics.median(walk_times[:5]) * 1000
	walk_last = statistics.median(walk_times[-5:]) * 1000
	return [
		row(
			f"(b) list_documents: page at depth {DEPTH:,} vs page 1",
			f"page 1: {ms['list_first']:.1f} ms",
			f"cursor page at {DEPTH:,}: {ms['list_deep']:.1f} ms",
			list_ratio,
			f"<= {DEEP_VS_FIRST}x",
			list_ratio <= DEEP_VS_FIRST,
		),
		row(
			f"(b) /api/resource: limit_start={DEPTH} vs 0",
			f"limit_start=0: {ms['resource_first']:.1f} ms",
			f"limit_start={DEPTH}: {ms['resource_deep']:.1f} ms",
			resource_ratio,
		),
		row(
			f"(b) list_documents walk, {WALK_PAGE_SIZE:,}-row pages: last 5 vs first 5",
			f"first pages: {walk_first:.1f} ms",
			f"pages near {DEPTH:,}: {walk_last:.1f} ms",
			walk_last / walk_first,
		),
	]


def _walk_to_depth(client) -> tuple[str, list[float]]:
	"""Follow next_cursor from the start until the cursor stands after row DEPTH; time each page."""
	params = {"doctype": DOCTYPE, "fields": json.dumps(["name"]), "order_by": ORDER, "limit": WALK_PAGE_SIZE}
	cursor, depth, times = None, 0, []
	while depth < DEPTH:
		page_params = {**params, "limit": min(WALK_PAGE_SIZE, DEPTH - depth)}
		if cursor:
			page_params["cursor"] = cursor
		start = time.perf_counter()
		page = get_json(client, LIST_DOCUMENTS, page_params)["message"]
		times.append(time.perf_counter() - start)
		depth += len(page["data"])
		if not page["has_more"]:
			raise AssertionError(f"the list ended at depth {depth:,}, before {DEPTH:,}")
		cursor = page["next_cursor"]
	return cursor, times


def get_json(client, url: str, params: dict) -> dict:
	response = client.get(url, params=params)
	expect_ok(response, url)
	return response.json()


def expect_ok(response, what: str) -> None:
	if response.status_code != 200:
		raise AssertionError(f"{what} answered {response.status_code}: {response.text[:500]}")

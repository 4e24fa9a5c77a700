"""Issue 15's fast paths, on `Hub Benchmark Record` (5 fields, unique `code` as the upsert key, Hub Resource
max_batch_size 1000), over HTTP against the runner's gunicorn (2 workers) unless said otherwise. Every
comparison runs ROUNDS interleaved rounds after warm-up calls (a few per path, so that both web server
workers are warm); each round gives a ratio, and the median ratio counts.

(g) `bulk_upsert` of UNCHANGED_BATCH records that are all unchanged against the same records with one
    field changed (both one call; the order of the two alternates by round). Target: the unchanged call
    >= 10x faster. Beside it, the unchanged call's rate against 3,000 records/s.
(h) `bulk_upsert` of WRITES new records in one call against an in-process `frappe.get_doc().insert()` loop
    (committed once at its end) and against `frappe.client.insert_many` in batches of 200 (HTTP). Same
    user, same fields, fresh keys. Each round runs every path twice, in one order and then in the
    reverse one (A B C C B A), so that a machine slowing down or speeding up during the round weighs on
    all three alike; a path's rate in the round is its 2 x WRITES records over its two runs' time.
    Targets: >= 1.0x the in-process loop in every round, >= 1.0x insert_many.
(i) `get_document?doctype=&name=` against `GET /api/resource/<doctype>/<name>`: the same document, the
    two requests alternating one by one, LATENCY_REQUESTS of each per round; a round's ratio is the
    ratio of its medians. Target: <= 1.1x.

(c), the cost of one subscription on an insert, is issue 4's benchmark (bench_events.py), whose target
issue 15 tightened: `benchmarks/run --only fast_paths events` runs every row of issue 15.
"""

import statistics

import frappe

from benchmarks.bench_documents import (
	DOCTYPE,
	INSERT_MANY_BATCH,
	bulk_upsert,
	check_written,
	ensure_resource,
	get_json,
	insert_in_process,
	insert_many,
	records_for,
)
from benchmarks.harness import (
	RECORD_FIELDS,
	SERVER_WORKERS,
	Context,
	compare_latency,
	elapsed,
	ensure_custom_doctype,
	rounds_text,
	row,
)

ROUNDS = 3
UNCHANGED_BATCH = 500
WRITES = 1_000
WARM_UP = 20  # records per warm-up call of the write paths
LATENCY_REQUESTS = 40
GET_DOCUMENT = "/api/method/integration_hub.api.v1.get_document"
RESOURCE = f"/api/resource/{DOCTYPE}"

# The targets of issue 15.
UNCHANGED_VS_CHANGED = 10.0
UNCHANGED_RATE = 3_000
BULK_VS_IN_PROCESS = 1.0
BULK_VS_INSERT_MANY = 1.0
GET_VS_RESOURCE = 1.1


def run(context: Context) -> list[dict]:
	ensure_custom_doctype(DOCTYPE, RECORD_FIELDS)
	ensure_resource()
	client = context.http()
	return [
		*unchanged_rows(context, client),
		*new_record_rows(context, client),
		get_document_row(context, client),
	]


# --- (g) unchanged against changed -----------------------------------------------------------


def unchanged_rows(context: Context, client) -> list[dict]:
	run_id = frappe.generate_hash(length=8)
	records = records_for(run_id, "unchanged", UNCHANGED_BATCH)
	bulk_upsert(client, records, "created")
	for n in range(2 * SERVER_WORKERS):  # warm up both workers on both paths
		bulk_upsert(client, records, "unchanged")
		records = with_changed_title(records, f"warm-up {n}")
		bulk_upsert(client, records, "updated")
	unchanged, changed = [], []
	for round_number in range(ROUNDS):
		changed_records = with_changed_title(records, f"round {round_number}")
		if round_number % 2 == 0:
			unchanged.append(elapsed(lambda: bulk_upsert(client, records, "unchanged")))
		changed.append(elapsed(lambda: bulk_upsert(client, changed_records, "updated")))
		records = changed_records
		if round_number % 2 == 1:
			unchanged.append(elapsed(lambda: bulk_upsert(client, records, "unchanged")))
		context.log(
			f"round {round_number + 1}/{ROUNDS}: unchanged {UNCHANGED_BATCH / unchanged[-1]:,.0f} records/s, "
			f"changed {UNCHANGED_BATCH / changed[-1]:,.0f} records/s"
		)
	ratios = [c / u for u, c in zip(unchanged, changed, strict=True)]
	rates = [UNCHANGED_BATCH / seconds for seconds in unchanged]
	ratio = statistics.median(ratios)
	rate = statistics.median(rates)
	return [
		row(
			f"(g) bulk_upsert of {UNCHANGED_BATCH}: all unchanged vs one field changed",
			f"one field changed: {UNCHANGED_BATCH / statistics.median(changed):,.0f} records/s",
			f"all unchanged: {rate:,.0f} records/s; rounds {rounds_text(ratios)}",
			ratio,
			f">= {UNCHANGED_VS_CHANGED:g}x",
			ratio >= UNCHANGED_VS_CHANGED,
		),
		row(
			f"(g) bulk_upsert of {UNCHANGED_BATCH} unchanged: rate vs {UNCHANGED_RATE:,} records/s",
			f"{UNCHANGED_RATE:,} records/s",
			f"all unchanged: {rate:,.0f} records/s; rounds {', '.join(f'{r:,.0f}' for r in rates)}",
			rate / UNCHANGED_RATE,
			">= 1x",
			rate >= UNCHANGED_RATE,
		),
	]


def with_changed_title(records: list[dict], suffix: str) -> list[dict]:
	return [{**record, "title": f"{record['title'].split(' / ')[0]} / {suffix}"} for record in records]


# --- (h) new records --------------------------------------------------------------------------


def new_record_rows(context: Context, client) -> list[dict]:
	run_id = frappe.generate_hash(length=8)
	paths = {
		"bulk_upsert": lambda records: bulk_upsert(client, records, "created"),
		"in_process": lambda records: insert_in_process(context, records),
		"insert_many": lambda records: insert_many(client, records),
	}
	for path, write in paths.items():
		for warm_up in range(2 * SERVER_WORKERS):
			write(records_for(run_id, f"{path}-warm{warm_up}", WARM_UP))
	rates: dict[str, list[float]] = {path: [] for path in paths}
	for round_number in range(ROUNDS):
		order = list(paths) if round_number % 2 == 0 else list(reversed(paths))
		seconds = dict.fromkeys(paths, 0.0)
		for run, path in enumerate([*order, *reversed(order)]):
			batch = f"{path}-{round_number}-{run}"
			records = records_for(run_id, batch, WRITES)
			seconds[path] += elapsed(lambda path=path, records=records: paths[path](records))
			check_written(run_id, batch, WRITES)
		for path in paths:
			rates[path].append(2 * WRITES / seconds[path])
		context.log(
			f"round {round_number + 1}/{ROUNDS}: "
			+ ", ".join(f"{path} {rates[path][-1]:,.0f} docs/s" for path in paths)
		)

	def ratio_row(baseline: str, label: str, target: float, every_round: bool) -> dict:
		ratios = [b / a for b, a in zip(rates["bulk_upsert"], rates[baseline], strict=True)]
		ratio = statistics.median(ratios)
		met = min(ratios) >= target if every_round else ratio >= target
		return row(
			f"(h) {WRITES:,} new docs: bulk_upsert vs {label}",
			f"{label}: {statistics.median(rates[baseline]):,.0f} docs/s",
			f"bulk_upsert (1 call): {statistics.median(rates['bulk_upsert']):,.0f} docs/s; "
			f"rounds {rounds_text(ratios)}",
			ratio,
			f">= {target:g}x" + (" every round" if every_round else ""),
			met,
		)

	return [
		ratio_row("in_process", "in-process get_doc().insert() loop", BULK_VS_IN_PROCESS, every_round=True),
		ratio_row("insert_many", f"insert_many, batches of {INSERT_MANY_BATCH}", BULK_VS_INSERT_MANY, False),
	]


# --- (i) one document -------------------------------------------------------------------------


def get_document_row(context: Context, client) -> dict:
	run_id = frappe.generate_hash(length=8)
	bulk_upsert(client, records_for(run_id, "read", 1), "created")
	frappe.db.rollback()
	name = frappe.db.get_value(DOCTYPE, {"code": f"{run_id}-read-0000"})
	requests = {
		"get_document": lambda: get_json(client, GET_DOCUMENT, {"doctype": DOCTYPE, "name": name})["message"],
		"/api/resource": lambda: get_json(client, f"{RESOURCE}/{name}", {})["data"],
	}
	ours, theirs = requests["get_document"](), requests["/api/resource"]()
	if ours["code"] != theirs["code"] or ours["modified"] != theirs["modified"]:
		raise AssertionError(f"get_document and /api/resource disagree: {ours} / {theirs}")
	comparison = compare_latency(
		context, *requests.items(), rounds=ROUNDS, requests_per_round=LATENCY_REQUESTS
	)
	return row(
		"(i) one document: get_document vs GET /api/resource/<doctype>/<name>",
		f"/api/resource: {comparison.median_ms('/api/resource'):.2f} ms",
		f"get_document: {comparison.median_ms('get_document'):.2f} ms; rounds {rounds_text(comparison.ratios)}",
		comparison.ratio,
		f"<= {GET_VS_RESOURCE}x",
		comparison.ratio <= GET_VS_RESOURCE,
	)

"""Issue 5's sync benchmark, on a DocType this module creates on both sites (`Hub Benchmark Sync Item`).

(e) Pulling 10,000 records from a second site on the same bench over HTTP, against writing the same
    10,000 records locally with `bulk_upsert`. The second site is a real site made for the benchmark
    (`new-site`, integration_hub installed; tests/remote_site.py), served by its own gunicorn on
    127.0.0.1, with the 10,000 records in its table (setup, filled by multi-row INSERTs). The pull is a
    Hub Sync Job run in this process as the scheduler's worker runs it: it pages through the remote's
    change feed (1,000 records a page), maps each record through the job's field map, writes it with
    the upsert engine, records its link, and commits each page with the cursor. The baseline is
    `documents.bulk.bulk_upsert` of the same records (same DocType, fields, keys and user), in batches
    of 1,000 committed one by one. Both start from an empty local table each round and both write
    the change log (the DocType is exposed). Rounds alternate, after a warm-up of 200 records written
    locally and a few feed pages read from the remote; the median rate counts. Target: the pull
    reaches at least 0.5x the local rate.

The remote site is dropped at the end (INTEGRATION_HUB_REMOTE_SITE=NAME reuses an existing one instead,
set up once and kept). The local DocType, its Hub Resource, the connection and the job stay on the
site; the local records are deleted after each round.
"""

import json
import statistics
import subprocess
import sys

import frappe
from frappe.utils import add_to_date, now_datetime

from benchmarks.harness import RECORD_FIELDS, Context, elapsed, ensure_custom_doctype, row
from integration_hub.documents.bulk import bulk_upsert
from integration_hub.documents.exposure import clear_exposure_cache, get_resource
from integration_hub.sync import state
from integration_hub.sync.pages import forget_finished_inserts
from integration_hub.sync.run import run_job
from tests import remote_site
from tests.fixtures_doctypes import expose_fully

DOCTYPE = "Hub Benchmark Sync Item"
RECORDS = 10_000
WARM_UP = 200
ROUNDS = 3
PAGE = 1_000
CONNECTION = "Benchmark remote site"
JOB = "Benchmark pull"
FIELDS = ("code", "title", "qty", "status", "notes")

# The target of issue 5.
PULL_VS_LOCAL = 0.5


def run(context: Context) -> list[dict]:
	ensure_custom_doctype(DOCTYPE, RECORD_FIELDS)
	ensure_resource()
	context.log(f"bench_sync: preparing a second site with {RECORDS:,} records")
	with remote_site.remote_site(prefix="ihbenchremote", setup=setup_remote_site) as remote:
		job = ensure_job(context, remote)
		records = remote_records()
		local_times, pull_times = [], []
		clear_local(job)
		context.log(f"bench_sync: warm-up ({WARM_UP} records locally, {WARM_UP} from the remote's feed)")
		local_write(context, records[:WARM_UP])
		clear_local(job)
		warm_up_remote(remote)
		for round_number in range(1, ROUNDS + 1):
			local_times.append(elapsed(lambda: local_write(context, records)))
			clear_local(job)
			pull_times.append(elapsed(lambda: pull(job, expected=RECORDS)))
			clear_local(job)
			context.log(
				f"bench_sync: round {round_number}: local {RECORDS / local_times[-1]:.0f} records/s, "
				f"pull {RECORDS / pull_times[-1]:.0f} records/s"
			)
	local_rate = RECORDS / statistics.median(local_times)
	pull_rate = RECORDS / statistics.median(pull_times)
	ratio = pull_rate / local_rate
	return [
		row(
			f"(e) pull {RECORDS:,} records from a second site over HTTP",
			f"local bulk_upsert: {local_rate:,.0f} records/s",
			f"Hub Sync Job pull: {pull_rate:,.0f} records/s",
			ratio,
			f">= {PULL_VS_LOCAL}x",
			ratio >= PULL_VS_LOCAL,
		)
	]


# --- the local side ----------------------------------------------------------------------------------


def ensure_resource() -> None:
	expose_fully(DOCTYPE)
	frappe.db.commit()
	clear_exposure_cache()


def ensure_job(context: Context, remote) -> str:
	key, secret = remote.admin_token.split(":")
	connection = (
		frappe.get_doc("Hub Connection", CONNECTION)
		if frappe.db.exists("Hub Connection", CONNECTION)
		else frappe.new_doc("Hub Connection")
	)
	connection.update(
		{
			"connection_name": CONNECTION,
			"connection_type": "Frappe",
			"base_url": remote.base_url,
			"auth_type": "Token",
			"api_key": key,
			"api_secret": secret,
			"timeout_seconds": 300,
		}
	)
	connection.save()
	if frappe.db.exists("Hub Sync Job", JOB):
		frappe.delete_doc("Hub Sync Job", JOB, force=True)
	job = frappe.get_doc(
		{
			"doctype": "Hub Sync Job",
			"job_name": JOB,
			"enabled": 0,  # run by the benchmark, not by the scheduler
			"connection": CONNECTION,
			"direction": "Pull",
			"local_doctype": DOCTYPE,
			"remote_resource": DOCTYPE,
			"run_as": context.user,
			"schedule": "0 0 1 1 *",
			"batch_size": PAGE,
			"field_map": [{"remote_field": f, "local_field": f, "is_key": int(f == "code")} for f in FIELDS],
		}
	).insert()
	frappe.db.commit()
	return job.name


def remote_records() -> list[dict]:
	"""The records the remote holds (the same generator fills it), for the local baseline."""
	return [record(i) for i in range(RECORDS)]


def record(i: int) -> dict:
	return {
		"code": f"SYNC-{i:06d}",
		"title": f"Synced record {i}",
		"qty": i % 1000,
		"status": "Open" if i % 3 else "Closed",
		"notes": f"Benchmark record {i} for issue 5",
	}


def local_write(context: Context, records: list[dict]) -> None:
	resource = get_resource(DOCTYPE)
	with context.as_benchmark_user():
		for start in range(0, len(records), PAGE):
			forget_finished_inserts()  # each batch is a request of its own, which starts afresh
			results = bulk_upsert(resource, records[start : start + PAGE], ("code",), atomic=False)
			frappe.db.commit()
			failed = [r for r in results if r["status"] != "created"]
			assert not failed, failed[:3]


def warm_up_remote(remote) -> None:
	"""Let the remote's web workers load the site and the feed's code before anything is timed."""
	session = remote.session()
	for _ in range(4):
		response = session.get(
			f"{remote.base_url}/api/method/integration_hub.api.v1.changes",
			params={"doctype": DOCTYPE, "limit": WARM_UP},
			timeout=300,
		)
		response.raise_for_status()
	session.close()


def pull(job: str, expected: int) -> None:
	run_name = run_job(job)
	sync_run = frappe.get_doc("Hub Sync Run", run_name)
	assert sync_run.status == "Succeeded" and sync_run.created_count == expected, (
		sync_run.status,
		sync_run.created_count,
		sync_run.error,
		sync_run.record_errors,
	)


def clear_local(job: str) -> None:
	"""Empty the local table and what the runs kept (setup, not measured)."""
	frappe.db.sql(f"delete from `tab{DOCTYPE}`")
	frappe.db.sql("delete from `tabHub Change` where ref_doctype = %s", (DOCTYPE,))
	frappe.db.delete("Hub Sync Link", {"connection": CONNECTION})
	state.save_cursor(job, None)
	frappe.db.commit()


# --- the remote side (python -m benchmarks.bench_sync setup SITE, run by remote_site) -------------------


def setup_remote_site(name: str) -> dict:
	result = subprocess.run(
		[sys.executable, "-m", "benchmarks.bench_sync", "setup", name],
		cwd=remote_site._sites_path(),
		stdin=subprocess.DEVNULL,
		capture_output=True,
		text=True,
		env=remote_site._env(),
		timeout=1800,
	)
	if result.returncode != 0:
		raise RuntimeError(f"setting up {name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
	return json.loads(result.stdout.strip().splitlines()[-1])


def fill_remote(name: str) -> dict:
	import os

	frappe.init(site=name, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	ensure_custom_doctype(DOCTYPE, RECORD_FIELDS)
	ensure_resource()
	if frappe.db.sql(f"select count(*) from `tab{DOCTYPE}`")[0][0] != RECORDS:
		frappe.db.sql(f"delete from `tab{DOCTYPE}`")
		start = add_to_date(now_datetime(), days=-1)
		for first in range(0, RECORDS, 2000):
			rows, values = [], []
			for i in range(first, min(first + 2000, RECORDS)):
				stamp = add_to_date(start, seconds=i)
				data = record(i)
				rows.append("(%s, %s, %s, 'Administrator', 'Administrator', 0, %s, %s, %s, %s, %s)")
				values += [frappe.generate_hash(length=10), stamp, stamp, *(data[f] for f in FIELDS)]
			frappe.db.sql(
				f"""insert into `tab{DOCTYPE}` (name, creation, modified, owner, modified_by, docstatus, {", ".join(FIELDS)})
				values {", ".join(rows)}""",
				values,
			)
	admin = frappe.get_doc("User", "Administrator")
	secret = frappe.generate_hash(length=15)
	admin.api_key = admin.api_key or frappe.generate_hash(length=15)
	admin.api_secret = secret
	admin.save(ignore_permissions=True)
	frappe.db.commit()
	frappe.destroy()
	return {"admin_token": f"{admin.api_key}:{secret}", "sync_token": f"{admin.api_key}:{secret}"}


if __name__ == "__main__":
	if len(sys.argv) != 3 or sys.argv[1] != "setup":
		raise SystemExit("usage: python -m benchmarks.bench_sync setup SITE")
	print(json.dumps(fill_remote(sys.argv[2])))

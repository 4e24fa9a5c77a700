"""Helpers shared by the sync tests."""

import json
import os
import signal
import subprocess
import sys

import frappe

from integration_hub.sync.run import run_job
from tests.fixtures_doctypes import ITEM
from tests.remote_site import REPO


def run(job_name: str):
	"""Run the job in this process (inside the test's transaction); its Hub Sync Run."""
	run_name = run_job(job_name)
	assert run_name, "the job was already running"
	return frappe.get_doc("Hub Sync Run", run_name)


def counts(sync_run) -> dict:
	return {
		key: sync_run.get(f"{key}_count")
		for key in ("created", "updated", "unchanged", "deleted", "skipped", "failed", "pushed")
	} | {"read": sync_run.records_read}


def saved_cursor(job_name: str) -> dict:
	raw = frappe.db.get_value("Hub Sync Job", job_name, "cursor")
	return json.loads(raw) if raw else {}


def local_items(prefix: str, fields=("code", "title", "qty", "status")) -> dict[str, dict]:
	rows = frappe.get_all(
		ITEM, filters={"code": ["like", f"{prefix}%"]}, fields=list(fields), order_by="code"
	)
	return {row.code: row for row in rows}


def failures(job_name: str) -> list[dict]:
	return frappe.get_all(
		"Hub Sync Failure",
		filters={"job": job_name},
		fields=["record_key", "status", "attempts", "error", "data"],
		order_by="record_key",
	)


def start_job_process(site: str, job_name: str) -> subprocess.Popen:
	"""Run the job in a separate process connected to the site, as a worker would."""
	code = (
		"import frappe, sys\n"
		"frappe.init(site=sys.argv[1], sites_path='.')\n"
		"frappe.connect()\n"
		"from integration_hub.sync.run import run_job\n"
		"print(run_job(sys.argv[2]))\n"
	)
	return subprocess.Popen(
		[sys.executable, "-c", code, site, job_name],
		cwd=os.getcwd(),
		env={**os.environ, "PYTHONPATH": str(REPO)},
		stdin=subprocess.DEVNULL,
		stdout=subprocess.PIPE,
		stderr=subprocess.PIPE,
		text=True,
	)


def kill(process: subprocess.Popen) -> None:
	process.send_signal(signal.SIGKILL)
	process.wait(timeout=30)

"""bench commands for the people who run a hub: `bench --site SITE hub status|doctor|sync|recover`.

Thin over the services: status and doctor over `operations/`, sync over the sync runner, recover
over the webhook controls. Each command is an edge: it owns (and commits) its transaction.
"""

import json
import sys
from contextlib import contextmanager

import click

import frappe
from frappe.commands import get_site, pass_context

from integration_hub.exceptions import HubError


@contextmanager
def connected(context):
	"""Connect to the command's site as Administrator; a context already connected to that site (bench
	console, bench execute, an in-process caller) is used as it is."""
	site = get_site(context)
	if getattr(frappe.local, "site", None) == site and getattr(frappe.local, "db", None):
		yield site
		return
	frappe.init(site=site)
	frappe.connect()
	try:
		yield site
	finally:
		frappe.destroy()


@click.group("hub")
def hub():
	"""Integration hub: status, doctor, sync, recover."""


@hub.command("status")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the facts as JSON")
@pass_context
def status(context, as_json=False):
	"""Subscriptions, sync jobs, scheduler, workers and Redis at a glance."""
	from integration_hub.operations.status import hub_status

	with connected(context):
		facts = hub_status()
	if as_json:
		click.echo(json.dumps(facts, indent=1, default=str))
		return
	click.echo(render_status(facts))


@hub.command("doctor")
@pass_context
def doctor(context):
	"""Check what silently breaks integrations; exits 1 when a problem is found."""
	from integration_hub.operations.doctor import doctor as diagnose

	with connected(context) as site:
		findings = diagnose()
	if not findings:
		click.secho(f"{site}: no problems found", fg="green")
		return
	for finding in findings:
		click.secho(f"✗ [{finding.check}] {finding.problem}", fg="red")
		click.echo(f"  fix: {finding.fix}")
	click.secho(f"{site}: {len(findings)} problem(s) found", fg="red")
	sys.exit(1)


@hub.command("sync")
@click.argument("job")
@click.option("--full", is_flag=True, default=False, help="Forget the cursor first: copy everything again")
@pass_context
def sync(context, job, full=False):
	"""Run a Hub Sync Job now, in the foreground, with a progress bar and a summary."""
	from integration_hub.sync import run as sync_run
	from integration_hub.sync import state

	with connected(context):
		if not frappe.db.exists("Hub Sync Job", job):
			_fail(f"Hub Sync Job {job} not found")
		if full:
			with state.job_lock(job) as acquired:
				if not acquired:
					_fail(f"Hub Sync Job {job} is running; try --full when the run has finished")
				state.save_cursor(job, None)
			frappe.db.commit()
			click.echo(f"{job}: cursor reset, copying everything")
		with sync_progress_bar(job) as on_progress:
			run_name = sync_run.run_job(job, trigger="Manual", on_progress=on_progress)
		if run_name is None:
			_fail(f"Hub Sync Job {job} is already running elsewhere; nothing was done")
		run = frappe.db.get_value("Hub Sync Run", run_name, "*", as_dict=True)
	click.echo(render_run(run))
	if run.status == "Failed":
		sys.exit(1)


@hub.command("recover")
@click.argument("subscription")
@click.option(
	"--since", required=True, help="Resend failed and dead deliveries created since (YYYY-MM-DD HH:MM:SS)"
)
@pass_context
def recover(context, subscription, since):
	"""Resend a subscription's failed and dead deliveries since a moment, in event order (queued on the long
	queue, like the API's recover)."""

	from integration_hub.events import controls

	with connected(context):
		try:
			result = controls.recover(subscription, since)
		except HubError as e:  # raised before anything is written
			_fail(str(e))
		frappe.db.commit()
	click.echo(
		f"{result['subscription']}: {result['deliveries']} deliveries since {result['since']} queued for resending"
	)


@contextmanager
def sync_progress_bar(job: str):
	"""A progress bar moved by the runner after each committed page, with the records read beside it
	(on a terminal; elsewhere click prints the label once). The summary follows the run."""
	with click.progressbar(
		length=100, label=f"{job}: syncing", width=30, item_show_func=_records_read
	) as bar:

		def advance(progress) -> None:
			bar.update(round(progress.percent) - bar.pos, progress)
			bar.render_progress()  # also when the percentage did not move: the count did

		yield advance


def _records_read(progress) -> str | None:
	if progress is None:
		return None
	return (
		f"{progress.records_read:,} of {progress.total:,} read"
		if progress.total
		else f"{progress.records_read:,} read"
	)


def _fail(message: str):
	click.secho(message, fg="red", err=True)
	sys.exit(1)


# --- rendering -------------------------------------------------------------------------------


def render_status(facts: dict) -> str:
	lines = [f"Site {facts['site']} at {facts['generated_at']}", ""]
	scheduler, workers = facts["scheduler"], facts["workers"]
	lines.append(
		"Scheduler: {}{}   last activity: {}".format(
			"enabled" if scheduler["enabled"] else "DISABLED",
			", DORMANT" if scheduler["dormant"] else "",
			scheduler["last_activity"] or "never",
		)
	)
	lines.append(
		"Redis: "
		+ ", ".join(
			f"{role} {'ok' if s['reachable'] else 'UNREACHABLE'}" for role, s in facts["redis"].items()
		)
	)
	lines.append("Workers: " + ", ".join(f"{queue} {count}" for queue, count in workers["queues"].items()))
	deliveries = facts["deliveries"]
	lines.append(
		"Deliveries: {pending} pending, {dead} dead, {delivered_today} delivered today, {stuck} stuck".format(
			**deliveries
		)
	)
	lines += ["", "Subscriptions"]
	lines += _table(
		["name", "doctype", "health", "pending", "dead", "last success"],
		[
			[r["name"], r["document_type"], r["health"], r["pending"], r["dead"], r["last_success_at"] or "-"]
			for r in facts["subscriptions"]
		],
	)
	lines += ["", "Sync jobs"]
	lines += _table(
		["name", "direction", "last run", "status", "lag", "pending failures"],
		[
			[
				r["name"] + ("" if r["enabled"] else " (off)"),
				r["direction"],
				r["last_run_at"] or "-",
				r["last_run_status"] or "-",
				_duration(r["lag_seconds"]),
				r["pending_failures"],
			]
			for r in facts["sync_jobs"]
		],
	)
	return "\n".join(lines)


def render_run(run) -> str:
	return (
		f"{run.job}: {run.status} ({run.name}) - {run.records_read} read: {run.created_count} created, "
		f"{run.updated_count} updated, {run.unchanged_count} unchanged, {run.deleted_count} deleted, "
		f"{run.pushed_count} pushed, {run.failed_count} failed"
		+ (f"\n  error: {run.error}" if run.error else "")
	)


def _table(headers: list[str], rows: list[list]) -> list[str]:
	if not rows:
		return ["  (none)"]
	cells = [headers] + [[str(cell) for cell in row] for row in rows]
	widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
	return [
		("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
		for row in cells
	]


def _duration(seconds: int | None) -> str:
	if seconds is None:
		return "-"
	if seconds < 120:
		return f"{seconds}s"
	if seconds < 7200:
		return f"{seconds // 60}m"
	return f"{seconds // 3600}h"


commands = [hub]

"""What an operator needs to see at a glance: each subscription's and sync job's health, the
scheduler, the workers on the hub's queues and Redis (`hub status`, `api.v1.health`). What of it
silently stops integrations is doctor.py's.

Reads only the hub's own bookkeeping tables and Frappe's scheduler state; callers check permissions.
"""

from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import redis

import frappe
from frappe.utils import get_datetime, now_datetime
from frappe.utils.background_jobs import generate_qname, get_redis_conn
from frappe.utils.scheduler import is_dormant, is_scheduler_inactive

from integration_hub.sync.scheduler import QUEUE as SYNC_QUEUE

# The queues the hub's background work goes to: deliveries on default, sync runs and recovery on long.
HUB_QUEUES = ("default", SYNC_QUEUE)
# A due delivery the every-minute sweep has not sent for this long is stuck.
STUCK_AFTER = timedelta(minutes=15)
REDIS_TIMEOUT_SECONDS = 2


def hub_status(now=None) -> dict:
	"""The facts `hub status` prints and the health endpoint returns."""
	now = get_datetime(now or now_datetime())
	return {
		"generated_at": str(now),
		"site": frappe.local.site,
		"scheduler": scheduler_state(now),
		"redis": redis_state(),
		"workers": worker_state(),
		"subscriptions": subscription_rows(now),
		"sync_jobs": sync_job_rows(now),
		"deliveries": delivery_counts(now),
	}


def scheduler_state(now) -> dict:
	last = frappe.db.get_value("Scheduled Job Log", {}, "modified", order_by="modified desc")
	return {
		"enabled": not is_scheduler_inactive(verbose=False),
		"dormant": bool(is_dormant(check_time=now)),
		"dormant_days": frappe.get_system_settings("dormant_days") or 4,
		"last_activity": _text(last_activity()),
		"last_scheduled_job": _text(last),
	}


def last_activity():
	"""The latest activity either of Frappe's dormancy rules counts (operations/activity.py): an
	Activity Log, or a user's `last_active`."""
	logged = frappe.db.get_value("Activity Log", {}, "modified", order_by="modified desc")
	active = frappe.db.get_value("User", {}, "last_active", order_by="last_active desc")
	return max((get_datetime(t) for t in (logged, active) if t), default=None)


def redis_state(urls: dict | None = None) -> dict:
	"""Whether each Redis the hub needs answers a PING: the queue (background jobs) and the cache
	(rate limits, exposure cache)."""
	urls = urls or {"queue": frappe.conf.redis_queue, "cache": frappe.conf.redis_cache}
	state = {}
	for role, url in urls.items():
		try:
			client = redis.Redis.from_url(
				url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
			)
			try:
				client.ping()
			finally:
				client.close()
			state[role] = {"url": _without_credentials(url), "reachable": True, "error": None}
		except (redis.exceptions.RedisError, OSError, ValueError, TypeError) as e:
			state[role] = {"url": _without_credentials(url), "reachable": False, "error": str(e)[:200]}
	return state


def _without_credentials(url: str | None) -> str | None:
	if not url:
		return url
	parts = urlsplit(url)
	return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def worker_state() -> dict:
	"""RQ workers registered in Redis that listen to this bench's queues, per queue the hub uses."""
	from rq import Worker

	# The bench's queue names, as Frappe's workers listen to them (frappe.utils.background_jobs; not a
	# documented interface, the same on 15.44.2 and 15.75.0, tested by the status tests on both).
	queues = {queue: generate_qname(queue) for queue in HUB_QUEUES}
	try:
		workers = Worker.all(connection=get_redis_conn())
	except Exception as e:
		return {"reachable": False, "error": str(e)[:200], "queues": {q: 0 for q in queues}, "workers": []}
	listening = {queue: 0 for queue in queues}
	names = []
	for worker in workers:
		worker_queues = set(worker.queue_names())
		mine = [queue for queue, qname in queues.items() if qname in worker_queues]
		for queue in mine:
			listening[queue] += 1
		if mine:
			names.append({"name": worker.name, "queues": mine, "state": str(worker.get_state())})
	return {"reachable": True, "error": None, "queues": listening, "workers": names}


def subscription_rows(now) -> list[dict]:
	counts = {
		(row.subscription, row.status): row.count
		for row in frappe.db.sql(
			"""select subscription, status, count(*) as count from `tabHub Delivery`
			where status in ('Pending', 'Failed', 'Dead') group by subscription, status""",
			as_dict=True,
		)
	}
	rows = []
	for sub in frappe.db.sql(
		"""select name, document_type, endpoint_url, enabled, status, disabled_reason, last_success_at,
			last_failure_at, consecutive_failures, failing_since
		from `tabHub Subscription` order by name""",
		as_dict=True,
	):
		pending = counts.get((sub.name, "Pending"), 0) + counts.get((sub.name, "Failed"), 0)
		rows.append(
			{
				"name": sub.name,
				"document_type": sub.document_type,
				"endpoint_url": sub.endpoint_url,
				"health": _subscription_health(sub),
				"pending": pending,
				"dead": counts.get((sub.name, "Dead"), 0),
				"last_success_at": _text(sub.last_success_at),
				"consecutive_failures": sub.consecutive_failures or 0,
				"disabled_reason": sub.disabled_reason if sub.status == "Disabled" else None,
			}
		)
	return rows


def _subscription_health(sub) -> str:
	if not sub.enabled:
		return "Off"
	if sub.status != "Active":
		return "Disabled"
	return "Failing" if sub.failing_since else "Healthy"


def sync_job_rows(now) -> list[dict]:
	last_success = dict(
		frappe.db.sql(
			"""select job, max(finished) from `tabHub Sync Run`
			where status = 'Succeeded' group by job"""
		)
	)
	rows = []
	for job in frappe.db.sql(
		"""select name, enabled, direction, local_doctype, connection, schedule, last_run, last_run_status,
			last_run_at, pending_failures
		from `tabHub Sync Job` order by name""",
		as_dict=True,
	):
		succeeded = last_success.get(job.name)
		rows.append(
			{
				"name": job.name,
				"enabled": bool(job.enabled),
				"direction": job.direction,
				"doctype": job.local_doctype,
				"connection": job.connection,
				"schedule": job.schedule,
				"last_run": job.last_run,
				"last_run_status": job.last_run_status or None,
				"last_run_at": _text(job.last_run_at),
				"last_success_at": _text(succeeded),
				# How far behind the job may be: time since its last fully successful run.
				"lag_seconds": int((now - get_datetime(succeeded)).total_seconds()) if succeeded else None,
				"pending_failures": job.pending_failures or 0,
			}
		)
	return rows


def delivery_counts(now) -> dict:
	row = frappe.db.sql(
		"""select
			sum(status in ('Pending', 'Failed')) as pending,
			sum(status = 'Dead') as dead,
			sum(status = 'Succeeded' and completed_at >= %(today)s) as delivered_today,
			sum(status in ('Pending', 'Failed') and next_attempt_at <= %(stuck)s
				and subscription in (select name from `tabHub Subscription` where enabled = 1 and status = 'Active')
			) as stuck
		from `tabHub Delivery`""",
		{"today": now.replace(hour=0, minute=0, second=0, microsecond=0), "stuck": now - STUCK_AFTER},
		as_dict=True,
	)[0]
	return {key: int(value or 0) for key, value in row.items()}


def _text(value) -> str | None:
	return str(value) if value else None

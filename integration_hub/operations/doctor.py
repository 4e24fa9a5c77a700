"""The checks of what silently stops integrations, each with how to fix it (`hub doctor`), over the
facts of `hub status`; and both together for an external monitor (`api.v1.health`)."""

from dataclasses import asdict, dataclass

from frappe import _

from integration_hub.operations.activity import MARK_EVERY
from integration_hub.operations.status import STUCK_AFTER, hub_status


@dataclass
class Finding:
	check: str
	problem: str
	fix: str

	def as_dict(self) -> dict:
		return asdict(self)


def health(now=None) -> dict:
	"""`hub status`'s facts and the doctor's findings, for an external monitor; `ok` is false when the
	doctor finds a problem."""
	status = hub_status(now)
	problems = [finding.as_dict() for finding in doctor(status)]
	return {"ok": not problems, "problems": problems, **status}


def doctor(status: dict | None = None) -> list[Finding]:
	"""Everything found that silently stops integrations, each with its fix; empty when all is well."""
	status = status or hub_status()
	findings = []
	for check in (_check_redis, _check_scheduler, _check_workers, _check_dormancy, _check_subscriptions):
		findings.extend(check(status))
	findings.extend(_check_stuck(status))
	return findings


def _check_redis(status: dict) -> list[Finding]:
	return [
		Finding(
			"redis",
			_("Redis ({0}) at {1} is unreachable: {2}").format(role, state["url"], state["error"]),
			_(
				"Start Redis (`bench start`, or the redis services of your supervisor/systemd setup) and check "
				"`{0}` in common_site_config.json."
			).format("redis_queue" if role == "queue" else "redis_cache"),
		)
		for role, state in status["redis"].items()
		if not state["reachable"]
	]


def _check_scheduler(status: dict) -> list[Finding]:
	if status["scheduler"]["enabled"]:
		return []
	return [
		Finding(
			"scheduler",
			_("The scheduler is disabled or paused on this site: no delivery is retried, no sync job runs."),
			_(
				"Run `bench --site {0} scheduler enable` (and `bench --site {0} scheduler resume`; "
				"leave maintenance mode with `bench --site {0} set-maintenance-mode off`)."
			).format(status["site"]),
		)
	]


def _check_workers(status: dict) -> list[Finding]:
	workers = status["workers"]
	if not workers["reachable"]:
		return []  # reported as Redis unreachable
	return [
		Finding(
			"workers",
			_("No RQ worker consumes the {0} queue: {1} stay queued forever.").format(
				queue, _("deliveries") if queue == "default" else _("sync runs and recoveries")
			),
			_(
				"Start workers for it: `bench worker --queue {0}` (or `bench start`, or the workers of your "
				"supervisor/systemd setup)."
			).format(queue),
		)
		for queue, count in workers["queues"].items()
		if not count
	]


def _check_dormancy(status: dict) -> list[Finding]:
	scheduler = status["scheduler"]
	if not scheduler["dormant"]:
		return []
	return [
		Finding(
			"dormant",
			_(
				"Frappe treats this site as dormant (no activity for {0} days, last {1}): scheduled "
				"jobs, including sync and delivery retries, run only once a day."
			).format(scheduler["dormant_days"], scheduler["last_activity"] or _("never")),
			_(
				"Log in to the Desk once, or raise Dormant Days in System Settings. The hub records its "
				"own activity while it delivers webhooks (at most every {0} minutes)."
			).format(int(MARK_EVERY.total_seconds() // 60)),
		)
	]


def _check_subscriptions(status: dict) -> list[Finding]:
	return [
		Finding(
			"subscription",
			_("Hub Subscription {0} ({1}) is disabled{2}; {3} deliveries are held.").format(
				row["name"],
				row["endpoint_url"],
				": " + row["disabled_reason"] if row["disabled_reason"] else "",
				row["pending"],
			),
			_(
				"Fix the receiving endpoint, set the subscription's Status back to Active, then "
				"`bench --site {0} hub recover {1} --since DATETIME` to resend what failed."
			).format(status["site"], row["name"]),
		)
		for row in status["subscriptions"]
		if row["health"] == "Disabled"
	]


def _check_stuck(status: dict) -> list[Finding]:
	stuck = status["deliveries"]["stuck"]
	if not stuck:
		return []
	return [
		Finding(
			"deliveries",
			_("{0} deliveries have been due for more than {1} minutes without being sent.").format(
				stuck, int(STUCK_AFTER.total_seconds() // 60)
			),
			_(
				"Make sure the scheduler runs and a worker consumes the default queue (see the other "
				"findings); deliveries of a disabled subscription wait until it is Active again."
			),
		)
	]

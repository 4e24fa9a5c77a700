"""The retry policy: when a failed delivery is tried again, and when it is dead."""

import random
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE = "5s, 5m, 30m, 2h, 5h, 10h, 10h"
JITTER = 0.10
MAX_RETRY_AFTER = 24 * 3600
MAX_RETRIES = 20
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STEP = re.compile(r"^(\d+)\s*([smhd])$")


def parse_schedule(value: str | None) -> list[int]:
	"""`"5s, 5m, 2h"` -> [5, 300, 7200]: the wait before each retry. ValueError if malformed."""
	steps = []
	for part in (value or DEFAULT_SCHEDULE).split(","):
		match = _STEP.match(part.strip().lower())
		if not match or int(match.group(1)) <= 0:
			raise ValueError(part.strip())
		steps.append(int(match.group(1)) * UNITS[match.group(2)])
	if len(steps) > MAX_RETRIES:
		raise ValueError(value)
	return steps


def retry_delay(schedule: list[int], failed_attempts: int, retry_after: float | None = None) -> float | None:
	"""Seconds to wait after the `failed_attempts`-th failure, or None when no retry is left.

	A `Retry-After` from the endpoint (429/503) replaces the scheduled wait; otherwise the scheduled
	wait gets ±10% jitter so that many deliveries that failed together do not retry together.
	"""
	if failed_attempts > len(schedule):
		return None
	if retry_after is not None:
		return retry_after
	base = schedule[failed_attempts - 1]
	return base * random.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
	"""Seconds from a `Retry-After` header (delta-seconds or HTTP-date), bounded to [1 s, 24 h]."""
	if not value:
		return None
	value = value.strip()
	if value.isdigit():
		seconds = float(value)
	else:
		try:
			when = parsedate_to_datetime(value)
		except (TypeError, ValueError):
			return None
		if when.tzinfo is None:
			when = when.replace(tzinfo=timezone.utc)
		seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
	return min(max(seconds, 1.0), MAX_RETRY_AFTER)

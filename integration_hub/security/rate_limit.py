"""Per-key (and per-user) sliding-window rate limits, kept in Redis and shared by every web worker.

One Lua script drops the timestamps older than the window, counts the rest and records this request
only if it is within the limit, atomically: concurrent requests on several workers can never pass more
than the limit between them.
"""

import math
import time
import uuid
from collections.abc import Callable

import redis
from redis.client import Pipeline

import frappe
from frappe import _

from integration_hub.exceptions import RateLimited

WINDOW_MS = 60_000
DEFAULT_USER_LIMIT_PER_MINUTE = 1200

SLIDING_WINDOW = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
	redis.call('ZADD', key, now, member)
	redis.call('PEXPIRE', key, window)
	return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


def hit(
	bucket: str,
	limit_per_minute: int,
	also: Callable[[Pipeline], Callable[[list], None]] | None = None,
) -> None:
	"""Count one request in `bucket`; RateLimited (429, with Retry-After) once over the limit.
	`also(pipeline)` queues other commands to send in the same round trip to Redis and returns what
	takes their answers (before any RateLimited; not called when Redis is unreachable)."""
	pipeline = frappe.cache.pipeline(transaction=False)
	counted = limit_per_minute > 0
	if counted:
		key = frappe.cache.make_key(f"integration_hub:rate:{bucket}")
		pipeline.eval(
			SLIDING_WINDOW, 1, key, int(time.time() * 1000), WINDOW_MS, limit_per_minute, uuid.uuid4().hex
		)
	take_answers = also(pipeline) if also is not None else None
	try:
		answers = pipeline.execute()
	except (redis.exceptions.RedisError, OSError):
		# Without Redis no limit can be counted; refusing every request would turn a cache outage into
		# an outage of the hub, whose writes and events do not need Redis.
		frappe.logger("integration_hub").warning(
			"Rate limit not counted: Redis is unreachable", exc_info=True
		)
		return
	wait_ms = answers.pop(0) if counted else 0
	if take_answers is not None:
		take_answers(answers)
	if wait_ms:
		retry_after = math.ceil(int(wait_ms) / 1000)
		raise RateLimited(
			_("Rate limit of {0} requests a minute reached; retry in {1} seconds").format(
				limit_per_minute, retry_after
			),
			retry_after=retry_after,
		)


def user_limit_per_minute() -> int:
	return int(frappe.conf.get("integration_hub_rate_limit_per_minute") or DEFAULT_USER_LIMIT_PER_MINUTE)

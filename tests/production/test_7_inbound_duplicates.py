"""Promise: an inbound event is stored and applied once, however often and however concurrently the
sender delivers it.

The same signed Standard Webhooks event is posted 8 times at once (8 connections released together)
to `receive` through gunicorn; the RQ workers process it. One Hub Inbound Event, processed in one
attempt; one document; one change in the change feed."""

import base64
import json
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import frappe

from tests.factories import HubInboundEndpointFactory
from tests.fixtures_doctypes import ITEM
from tests.helpers import read_committed
from tests.inbound.test_inbound import standard_webhooks_headers
from tests.production.support import API, remove_written, state_figure

POSTS = 8
PROCESS_TIMEOUT = 120
EVENT = "Hub Inbound Event"


def test_the_same_event_posted_eight_times_at_once_has_one_effect(hub, committed):
	prefix = f"P7-{frappe.generate_hash(length=6)}-"
	secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
	endpoint = HubInboundEndpointFactory(secret=secret, rate_limit_per_minute=600)
	committed.commit()

	def cleanup():
		frappe.db.delete(EVENT, {"endpoint": endpoint.name})
		frappe.delete_doc("Hub Inbound Endpoint", endpoint.name, force=True, ignore_permissions=True)
		remove_written(ITEM, "code", prefix)

	committed.on_cleanup(cleanup)
	code = f"{prefix}ONE"
	body = json.dumps({"code": code, "title": "posted eight times", "qty": 8}).encode()
	headers = {
		"Content-Type": "application/json",
		**standard_webhooks_headers(secret, body, f"msg_{prefix}", int(time.time())),
	}
	start = threading.Barrier(POSTS, timeout=60)

	def post(_n):
		with hub.client() as http:
			http.headers.pop("Authorization")  # the signature authenticates
			start.wait()
			return http.post(
				f"{API}.receive?endpoint={endpoint.name}", data=body, headers=headers
			).status_code

	with ThreadPoolExecutor(POSTS) as pool:
		answers = Counter(pool.map(post, range(POSTS)))

	deadline = time.monotonic() + PROCESS_TIMEOUT
	while time.monotonic() < deadline and not _processed(endpoint.name):
		time.sleep(0.5)
	events = read_committed(
		f"select status, attempts from `tab{EVENT}` where endpoint = %s", (endpoint.name,)
	)
	documents = read_committed(f"select name from `tab{ITEM}` where code = %s", (code,))
	changes = read_committed(
		"select count(*) from `tabHub Change` where ref_doctype = %s and docname in %s",
		(ITEM, tuple(n for (n,) in documents) or ("",)),
	)[0][0]
	state_figure(
		f"[7] the same inbound event posted {POSTS} times at once: answers {dict(answers)}, "
		f"{len(events)} Hub Inbound Event {events}, {len(documents)} document, {changes} change(s) in the feed"
	)
	assert answers == Counter({202: 1, 200: POSTS - 1}), answers
	assert [tuple(e) for e in events] == [("Processed", 1)], events
	assert len(documents) == 1 and changes == 1


def _processed(endpoint: str) -> bool:
	return bool(
		read_committed(f"select 1 from `tab{EVENT}` where endpoint = %s and status != 'Queued'", (endpoint,))
	)

"""One id per API call (`X-Request-Id`), carried by everything the call caused, so an operator can find
what one call did and a webhook receiver can tell which call caused an event.

The id is the client's own when it sent a well-formed `X-Request-Id` (1 to 200 characters of
`A-Z a-z 0-9 . _ : -`), else generated (`req_` + 24 hex digits). It is made on first use within a request
of the document API or its MCP face and kept in the request's flags. Every answer on those paths
carries it in the header, errors included (an `after_request` hook); problem bodies, Error Log titles,
Hub Change rows and Hub Events (payload and delivery header) caused by the call carry it too.

Background work that is its own cause carries the id of the record that stands for it instead
(`carried`): a sync run `sync-run:<Hub Sync Run>` (also sent to the remote it reads or writes), the
processing of an inbound event `inbound-event:<Hub Inbound Event>`. Elsewhere (the Desk, other jobs, a
console) there is none.
"""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import frappe

from integration_hub.paths import is_api_request

HEADER = "X-Request-Id"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_FLAG = "integration_hub_request_id"


def current() -> str | None:
	"""The id of the API call being served, or None outside one."""
	flags = frappe.local.flags
	request_id = flags.get(_FLAG)
	if request_id is None and is_api_request():
		request_id = flags[_FLAG] = _client_id() or generate()
	return request_id


@contextmanager
def carried(request_id: str) -> Iterator[str]:
	"""Everything done inside carries `request_id` in place of the API call's (if any), which is restored
	afterwards."""
	flags = frappe.local.flags
	outer = flags.get(_FLAG)
	flags[_FLAG] = request_id
	try:
		yield request_id
	finally:
		if outer is None:
			flags.pop(_FLAG, None)
		else:
			flags[_FLAG] = outer


def generate() -> str:
	return f"req_{secrets.token_hex(12)}"


def labelled(title: str) -> str:
	"""An Error Log title that names the call it happened in (titles are searchable in the Desk)."""
	request_id = current()
	return f"{title} [{request_id}]" if request_id else title


def set_response_header(response=None, request=None) -> None:
	"""after_request hook: every answer of the API and the MCP endpoint names its call."""
	if response is not None and (request_id := current()):
		response.headers[HEADER] = request_id


def _client_id() -> str | None:
	given = frappe.get_request_header(HEADER)
	return given if isinstance(given, str) and WELL_FORMED.fullmatch(given) else None

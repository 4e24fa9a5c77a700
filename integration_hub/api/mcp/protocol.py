"""JSON-RPC 2.0 as MCP uses it over Streamable HTTP, for the revisions this server speaks.

Handshake revisions (2025-06-18, 2025-11-25) start with `initialize`; the server keeps no session, so
every later request stands on its own. The 2026-07-28 revision has no handshake at all: each request
carries its protocol version and client capabilities in `params._meta`, mirrored in HTTP headers, and
`server/discover` tells a client what the server offers.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import integration_hub
from integration_hub.documents.cursor import decode_cursor, encode_cursor, fingerprint
from integration_hub.exceptions import InvalidCursor

HANDSHAKE_VERSIONS = ("2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
SUPPORTED_VERSIONS = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[-1]

PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"
PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
NAME_BEARING_METHODS = {"tools/call": "name", "resources/read": "uri"}

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REFUSED = -32003  # implementation-defined: the hub refused the request (authentication, limits); see data
RESOURCE_NOT_FOUND = -32002  # handshake revisions; 2026-07-28 retired it for INVALID_PARAMS
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

# 2026-07-28 maps protocol errors to HTTP statuses; the handshake revisions answer a well-formed request
# with 200 whatever its JSON-RPC outcome.
MODERN_ERROR_STATUS = {
	PARSE_ERROR: 400,
	INVALID_REQUEST: 400,
	INVALID_PARAMS: 400,
	HEADER_MISMATCH: 400,
	UNSUPPORTED_PROTOCOL_VERSION: 400,
	METHOD_NOT_FOUND: 404,
}
# Results that 2026-07-28 lets a client cache: they say for how long (not at all: permissions change).
CACHEABLE_METHODS = frozenset(
	("server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read")
)

SERVER_NAME = "integration_hub"
INSTRUCTIONS = (
	"The integration hub of a Frappe site: its curated documents, methods and reports, with exactly your "
	"rights. describe_resource without arguments lists the resources you may use; with a doctype it gives "
	"that resource's key and usual fields (ask for more by name). list_documents pages with "
	"next_cursor; writes are upserts by the resource's key, and an idempotency_key makes a retried write "
	"safe. A refused call returns isError with a code, a detail and JSON pointers to the wrong arguments."
)


class RpcError(Exception):
	"""A JSON-RPC error answer (a protocol error, not a failed tool call)."""

	def __init__(self, code: int, message: str, data: object = None, status: int | None = None) -> None:
		super().__init__(message)
		self.code = code
		self.message = message
		self.data = data
		self.status = status  # an HTTP status that applies whatever the revision (a malformed envelope)


@dataclass
class Call:
	"""One JSON-RPC request, validated, with the revision it is spoken in."""

	id: str | int
	method: str
	params: dict
	version: str  # the negotiated or per-request revision; the latest handshake one if the client named none
	modern: bool = False
	client_info: dict = field(default_factory=dict)


def server_info() -> dict:
	return {"name": SERVER_NAME, "title": "Integration Hub", "version": integration_hub.__version__}


def capabilities() -> dict:
	return {"tools": {"listChanged": False}, "resources": {"subscribe": False, "listChanged": False}}


# --- reading a message -----------------------------------------------------------------------


def request_id(message: object) -> str | int | None:
	"""The id to answer with: the request's, when it is a valid one."""
	if isinstance(message, dict):
		value = message.get("id")
		if isinstance(value, str | int) and not isinstance(value, bool):
			return value
	return None


def is_notification(message: object) -> bool:
	"""A notification (or a response to a request the server never sent): acknowledged with 202."""
	if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
		return False
	return _is_response(message) or ("id" not in message and isinstance(message.get("method"), str))


def _is_response(message: dict) -> bool:
	return (
		message.get("jsonrpc") == "2.0"
		and "method" not in message
		and ("result" in message or "error" in message)
	)


def parse_call(message: object, headers: Mapping[str, str]) -> Call:
	"""Validate the envelope, then the revision's rules; RpcError for the first thing wrong."""
	if isinstance(message, list):
		raise RpcError(
			INVALID_REQUEST, "Batches are not supported: send one JSON-RPC request per POST", status=400
		)
	if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
		raise RpcError(INVALID_REQUEST, "The body must be a JSON-RPC 2.0 request object", status=400)
	if request_id(message) is None:
		raise RpcError(INVALID_REQUEST, "The request id must be a string or a number", status=400)
	if not isinstance(message.get("method"), str):
		raise RpcError(INVALID_REQUEST, "The request's method must be a string", status=400)
	params = message.get("params", {})
	if params is None:
		params = {}
	if not isinstance(params, dict):
		raise RpcError(INVALID_REQUEST, "params must be an object", status=400)
	meta = params.get("_meta")
	if isinstance(meta, dict) and PROTOCOL_VERSION_META in meta:
		return _modern_call(message, params, meta, headers)
	return _handshake_call(message, params, headers)


def _handshake_call(message: dict, params: dict, headers: Mapping[str, str]) -> Call:
	header = headers.get(PROTOCOL_VERSION_HEADER)
	if message["method"] == "initialize":
		requested = params.get("protocolVersion")
		version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
	elif header in MODERN_VERSIONS:
		raise RpcError(
			INVALID_PARAMS,
			f"Protocol {header} requests carry params._meta[{PROTOCOL_VERSION_META!r}] and the client capabilities",
			status=400,
		)
	elif header is not None and header not in HANDSHAKE_VERSIONS:
		raise RpcError(
			INVALID_REQUEST,
			f"Unsupported {PROTOCOL_VERSION_HEADER}: {header[:40]}; this server speaks {', '.join(SUPPORTED_VERSIONS)}",
			{"supported": list(SUPPORTED_VERSIONS), "requested": header[:40]},
			status=400,
		)
	else:
		version = header or LATEST_HANDSHAKE_VERSION
	return Call(message["id"], message["method"], params, version)


def _modern_call(message: dict, params: dict, meta: dict, headers: Mapping[str, str]) -> Call:
	"""The 2026-07-28 checks, in its order: envelope keys, headers mirroring the body, the version."""
	if CLIENT_CAPABILITIES_META not in meta:
		raise _modern_error(
			INVALID_PARAMS, f"params._meta is missing the required key {CLIENT_CAPABILITIES_META}"
		)
	version = meta[PROTOCOL_VERSION_META]
	if headers.get(PROTOCOL_VERSION_HEADER) != version:
		raise _modern_error(
			HEADER_MISMATCH, f"The {PROTOCOL_VERSION_HEADER} header does not match params._meta"
		)
	if headers.get(METHOD_HEADER) != message["method"]:
		raise _modern_error(
			HEADER_MISMATCH, f"The {METHOD_HEADER} header does not match the request's method"
		)
	name_key = NAME_BEARING_METHODS.get(message["method"])
	if name_key and params.get(name_key) is not None and headers.get(NAME_HEADER) != params.get(name_key):
		raise _modern_error(HEADER_MISMATCH, f"The {NAME_HEADER} header does not match params.{name_key}")
	if not isinstance(version, str):
		raise _modern_error(INVALID_PARAMS, "The protocol version in params._meta must be a string")
	if version not in MODERN_VERSIONS:
		raise _modern_error(
			UNSUPPORTED_PROTOCOL_VERSION,
			"Unsupported protocol version",
			{"supported": list(MODERN_VERSIONS), "requested": version},
		)
	client_info = meta.get(CLIENT_INFO_META)
	return Call(
		message["id"],
		message["method"],
		params,
		version,
		modern=True,
		client_info=client_info if isinstance(client_info, dict) else {},
	)


def _modern_error(code: int, message: str, data: object = None) -> RpcError:
	return RpcError(code, message, data, status=MODERN_ERROR_STATUS.get(code))


# --- answering -------------------------------------------------------------------------------


Handler = Callable[[Call], dict]


def answer(call: Call, handlers: Mapping[str, Handler]) -> tuple[int, dict]:
	"""(HTTP status, JSON-RPC response) for a parsed call."""
	try:
		handler = handlers.get(call.method)
		if handler is None or (call.method == "server/discover" and not call.modern):
			raise RpcError(METHOD_NOT_FOUND, f"Method not found: {call.method[:100]}")
		if call.method == "initialize" and call.modern:
			raise RpcError(
				INVALID_REQUEST,
				"Protocol 2026-07-28 has no initialize handshake; send requests directly",
				{"supported": list(MODERN_VERSIONS)},
			)
		result = handler(call)
	except RpcError as e:
		return error_status(e, call.modern), error_response(call.id, e)
	return 200, {"jsonrpc": "2.0", "id": call.id, "result": envelope(call, result)}


def envelope(call: Call, result: dict) -> dict:
	"""2026-07-28 results say what they are, how long they may be cached, and which server sent them."""
	if not call.modern:
		return result
	result = {**result, "resultType": "complete"}
	if call.method in CACHEABLE_METHODS:
		result.update(ttlMs=0, cacheScope="private")
	result["_meta"] = {**result.get("_meta", {}), SERVER_INFO_META: server_info()}
	return result


def error_response(id_: str | int | None, error: RpcError) -> dict:
	body = {"code": error.code, "message": error.message}
	if error.data is not None:
		body["data"] = error.data
	return {"jsonrpc": "2.0", "id": id_, "error": body}


def error_status(error: RpcError, modern: bool) -> int:
	if error.status:
		return error.status
	return MODERN_ERROR_STATUS.get(error.code, 200) if modern else 200


def initialize_result(call: Call) -> dict:
	return {
		"protocolVersion": call.version,
		"capabilities": capabilities(),
		"serverInfo": server_info(),
		"instructions": INSTRUCTIONS,
	}


def discover_result(call: Call) -> dict:
	return {
		"supportedVersions": list(SUPPORTED_VERSIONS),
		"capabilities": capabilities(),
		"instructions": INSTRUCTIONS,
	}


# --- paging of tools/list and resources/list ---------------------------------------------------

DEFAULT_PAGE_SIZE = 50


def page(items: list, params: dict, kind: str, user: str, page_size: int) -> tuple[list, str | None]:
	"""One page of `items` after `params.cursor` and the cursor of the next page (signed, bound to the
	listing and the caller, as the API's cursors are)."""
	binding = fingerprint(kind=f"mcp:{kind}", user=user)
	start = 0
	if params.get("cursor") is not None:
		try:
			start = decode_cursor(params["cursor"], binding).get("o")
		except InvalidCursor as e:
			raise RpcError(INVALID_PARAMS, str(e.detail), {"pointer": "/params/cursor"})
		if not isinstance(start, int) or start < 0:
			raise RpcError(INVALID_PARAMS, "The cursor is malformed", {"pointer": "/params/cursor"})
	end = start + max(1, page_size)
	return items[start:end], encode_cursor(binding, {"o": end}) if end < len(items) else None

"""An MCP client made of the official MCP Python SDK (`mcp` on PyPI) and nothing of ours, for the tests
and the benchmark. It runs with the SDK's own virtualenv (see tests/mcp_sdk.py), never with the
bench's Python, whose pydantic is too old for the SDK:

	.venv/bin/python tests/mcp_client.py < scenario.json > outcome.json

The scenario is JSON: {"url", "headers", "mode", "steps": [...]}. `mode` is the SDK's: "auto" (probe
`server/discover`, the 2026-07-28 way, and fall back to `initialize`), "legacy" (the `initialize`
handshake) or a pinned modern revision ("2026-07-28"). A step is one of
	{"op": "list_tools"}                          every page, following nextCursor
	{"op": "call_tool", "name": ..., "arguments": {...}}
	{"op": "list_resources"} / {"op": "read_resource", "uri": ...}
	{"op": "time_call_tool", "name": ..., "arguments": {...}, "repeat": N}   seconds of each call
The outcome is JSON: the negotiated protocol version, the server's info and one entry per step (the
SDK's result, dumped as on the wire, or the error it raised). The SDK validates every successful tool
result against the tool's outputSchema itself, and raises if it does not conform.

With "oauth": {"username", "password", "redirect_uri", "untick": [...], "client_name"} and no
Authorization header, the SDK's own OAuth client (`mcp.client.auth.OAuthClientProvider`) signs in from
the URL alone: discovery, registration, PKCE, the token exchange and refresh are the SDK's. What a
person does in the browser (Frappe's login, then the consent page, unticking `untick`) is done here
over HTTP with a client of its own (cookies, CSRF token and form as a browser sends them); the redirect
back to `redirect_uri` is read from the answer's Location instead of being followed. The outcome then
has "oauth": what the person saw, and the tokens and registration the SDK stored.
"""

import asyncio
import json
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
from consent_form import ConsentForm  # beside this script: stdlib only, shared with the tests
from mcp import Client, MCPError
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken


def dump(model) -> object:
	return model.model_dump(mode="json", by_alias=True, exclude_none=True) if model is not None else None


async def list_all(fetch) -> list[dict]:
	pages, cursor = [], None
	while True:
		page = await fetch(cursor=cursor, cache_mode="refresh")
		pages.append(dump(page))
		cursor = page.next_cursor
		if cursor is None or len(pages) > 100:
			return pages


async def run_step(client: Client, step: dict) -> dict:
	op = step["op"]
	try:
		if op == "list_tools":
			return {"pages": await list_all(client.list_tools)}
		if op == "list_resources":
			return {"pages": await list_all(client.list_resources)}
		if op == "read_resource":
			return {"result": dump(await client.read_resource(step["uri"], cache_mode="refresh"))}
		if op == "call_tool":
			return {"result": dump(await client.call_tool(step["name"], step.get("arguments")))}
		if op == "time_call_tool":
			seconds = []
			for _ in range(step["repeat"]):
				start = time.perf_counter()
				result = await client.call_tool(step["name"], step.get("arguments"))
				seconds.append(time.perf_counter() - start)
				if result.is_error:
					return {"result": dump(result)}
			return {"seconds": seconds}
	except MCPError as e:
		return {
			"error": {
				"type": "MCPError",
				"code": e.error.code,
				"message": e.error.message,
				"data": e.error.data,
			}
		}
	except Exception as e:
		return {"error": {"type": type(e).__name__, "message": str(e)}}
	raise ValueError(f"unknown step {op!r}")


class MemoryStorage:
	"""The SDK's token storage, kept in memory for one run."""

	def __init__(self) -> None:
		self.tokens: OAuthToken | None = None
		self.client_info: OAuthClientInformationFull | None = None

	async def get_tokens(self):
		return self.tokens

	async def set_tokens(self, tokens) -> None:
		self.tokens = tokens

	async def get_client_info(self):
		return self.client_info

	async def set_client_info(self, client_info) -> None:
		self.client_info = client_info


class Person:
	"""What a person does in the browser when the SDK sends them to the authorization URL."""

	def __init__(self, oauth: dict) -> None:
		self.oauth = oauth
		self.seen: dict = {}
		self.result: AuthorizationCodeResult | None = None

	async def open(self, authorization_url: str) -> None:
		origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorization_url))
		async with httpx2.AsyncClient(timeout=60, follow_redirects=False) as browser:
			first = await browser.get(authorization_url)
			self.seen["before_login"] = {
				"status": first.status_code,
				"location": first.headers.get("location"),
			}
			login = await browser.post(
				f"{origin}/api/method/login",
				data={"usr": self.oauth["username"], "pwd": self.oauth["password"]},
			)
			self.seen["login"] = login.status_code
			page = await browser.get(authorization_url)
			form = ConsentForm()
			form.feed(page.text)
			self.seen["consent"] = {
				"status": page.status_code,
				"title": form.title.strip(),
				"boxes": form.checkboxes,
			}
			if form.action is None:
				self.seen["consent"]["text"] = page.text[-3000:]
				return
			untick = set(self.oauth.get("untick") or [])
			data = form.fields + [
				(name, "1") for name, checked in form.checkboxes if checked and name not in untick
			]
			data.append(("decision", self.oauth.get("decision", "allow")))
			answer = await browser.post(
				urljoin(origin, form.action),
				content=urlencode(data),
				headers={"Content-Type": "application/x-www-form-urlencoded"},
			)
			location = answer.headers.get("location") or ""
			self.seen["answer"] = {"status": answer.status_code, "location": location}
			query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
			if "code" in query:
				self.result = AuthorizationCodeResult(
					code=query["code"], state=query.get("state"), iss=query.get("iss")
				)

	async def callback(self) -> AuthorizationCodeResult:
		if self.result is None:
			raise RuntimeError(f"no authorization code: {self.seen}")
		return self.result


def oauth_provider(url: str, oauth: dict) -> tuple[OAuthClientProvider, Person, MemoryStorage]:
	person, storage = Person(oauth), MemoryStorage()
	metadata = OAuthClientMetadata(
		client_name=oauth.get("client_name", "integration_hub tests"),
		redirect_uris=[oauth["redirect_uri"]],
		grant_types=["authorization_code", "refresh_token"],
		response_types=["code"],
		token_endpoint_auth_method="none",
		scope=oauth.get("scope"),
	)
	provider = OAuthClientProvider(
		server_url=url,
		client_metadata=metadata,
		storage=storage,
		redirect_handler=person.open,
		callback_handler=person.callback,
	)
	return provider, person, storage


async def run(scenario: dict) -> dict:
	outcome: dict = {"steps": []}
	auth, person, storage = None, None, None
	if scenario.get("oauth"):
		auth, person, storage = oauth_provider(scenario["url"], scenario["oauth"])
	async with httpx2.AsyncClient(headers=scenario.get("headers") or {}, timeout=120, auth=auth) as http:
		transport = streamable_http_client(scenario["url"], http_client=http)
		try:
			async with Client(transport, mode=scenario.get("mode", "auto")) as client:
				outcome["protocol_version"] = client.protocol_version
				outcome["server_info"] = dump(client.server_info)
				outcome["instructions"] = client.instructions
				for step in scenario["steps"]:
					outcome["steps"].append(await run_step(client, step))
		except Exception as e:
			outcome["connect_error"] = {"type": type(e).__name__, "message": repr(e)[:2000]}
	if person is not None:
		outcome["oauth"] = {
			"seen": person.seen,
			"tokens": dump(storage.tokens),
			"client_info": dump(storage.client_info),
		}
	return outcome


if __name__ == "__main__":
	json.dump(asyncio.run(run(json.load(sys.stdin))), sys.stdout)

"""An assistant's sign-in, on the test site served whatever the Host header says (as a public site is
reached by its own address): the MCP address is all a client knows."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import frappe
from frappe.installer import update_site_config
from frappe.utils.password import update_password

from integration_hub.api.oauth import REGISTRATIONS_CONFIG
from integration_hub.security.oauth.settings import SETTINGS
from tests.conftest import Committed
from tests.consent_form import ConsentForm
from tests.factories import CategoryFactory, UserFactory, expose_items_and_categories
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM
from tests.remote_site import serve

MCP = "/api/method/integration_hub.api.mcp"
OAUTH = "/api/method/integration_hub.api.oauth"
PASSWORD = "Assistant-Test-" + secrets.token_hex(4)
REDIRECT_URI = "http://127.0.0.1:43110/callback"  # where a desktop client would listen; nothing does


@pytest.fixture(scope="module")
def world(site):
	"""Exposed Item (every operation) and Category (read); two users allowed to connect assistants (the
	editor role is chosen in Hub Assistant Settings), the outsider also a Blogger; both with passwords."""
	committed = Committed()
	track = committed.track
	expose_items_and_categories(track)
	category = track(CategoryFactory())
	person = track(UserFactory(roles=[EDITOR_ROLE]))
	outsider = track(UserFactory(roles=[EDITOR_ROLE, "Blogger"]))
	for user in (person, outsider):
		update_password(user.name, PASSWORD)
	settings = frappe.get_doc(SETTINGS)
	before = [row.role for row in settings.allowed_roles]
	settings.set("allowed_roles", [{"role": EDITOR_ROLE}])
	settings.save()
	update_site_config(REGISTRATIONS_CONFIG, 10_000)  # every test registers; one below tries the limit

	def restore():
		update_site_config(REGISTRATIONS_CONFIG, None)
		settings = frappe.get_doc(SETTINGS)
		settings.set("allowed_roles", [{"role": role} for role in before])
		settings.save()
		for doctype in ("Hub OAuth Token", "Hub Assistant Connection", "Hub OAuth Client"):
			frappe.db.delete(doctype)
		frappe.db.delete(ITEM, {"code": ("like", "OAUTH-%")})

	committed.on_cleanup(restore)
	committed.commit()
	yield frappe._dict(person=person, outsider=outsider, category=category, committed=committed)
	committed.cleanup()


@pytest.fixture(scope="module")
def hub(site, world):
	"""The site, served on 127.0.0.1 whatever the Host header: its base URL."""
	with serve(site) as base_url:
		yield base_url


def pkce() -> tuple[str, str]:
	verifier = secrets.token_urlsafe(48)
	challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
	return verifier, challenge


class Assistant:
	"""An OAuth client driven by hand (requests), for what a conforming client never does: reuse a code,
	forget the verifier, present a token elsewhere."""

	def __init__(self, base_url: str, redirect_uri: str = REDIRECT_URI, name: str = "Hand-driven") -> None:
		self.base_url = base_url
		self.redirect_uri = redirect_uri
		registered = requests.post(
			f"{base_url}{OAUTH}.register",
			json={"client_name": name, "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"},
			timeout=30,
		)
		assert registered.status_code == 201, registered.text
		self.client_id = registered.json()["client_id"]

	def authorize(self, user: str, *, untick=(), decision="allow", **parameters) -> requests.Response:
		"""Sign `user` in and answer the consent page; the answer (a redirect, or a page)."""
		browser = requests.Session()
		login = browser.post(
			f"{self.base_url}/api/method/login", data={"usr": user, "pwd": PASSWORD}, timeout=30
		)
		assert login.status_code == 200, login.text
		self.verifier, challenge = pkce()
		query = {
			"response_type": "code",
			"client_id": self.client_id,
			"redirect_uri": self.redirect_uri,
			"state": secrets.token_hex(8),
			"code_challenge": challenge,
			"code_challenge_method": "S256",
			"resource": self.base_url + MCP,
			**parameters,
		}
		query = {k: v for k, v in query.items() if v is not None}
		page = browser.get(
			f"{self.base_url}{OAUTH}.authorize", params=query, allow_redirects=False, timeout=30
		)
		form = ConsentForm()
		form.feed(page.text)
		if page.status_code != 200 or form.action is None:
			return page
		return browser.post(
			self.base_url + form.action if form.action.startswith("/") else form.action,
			data=form.answer(untick, decision),
			allow_redirects=False,
			timeout=30,
		)

	def code(self, user: str, **parameters) -> str:
		answer = self.authorize(user, **parameters)
		assert answer.status_code in (302, 303), answer.text[-2000:]
		return redirect_parameters(answer)["code"]

	def exchange(self, code: str, **extra) -> requests.Response:
		data = {
			"grant_type": "authorization_code",
			"code": code,
			"redirect_uri": self.redirect_uri,
			"client_id": self.client_id,
			"code_verifier": self.verifier,
			"resource": self.base_url + MCP,
			**extra,
		}
		return requests.post(
			f"{self.base_url}{OAUTH}.token", data={k: v for k, v in data.items() if v is not None}, timeout=30
		)

	def tokens(self, user: str, **parameters) -> dict:
		answer = self.exchange(self.code(user, **parameters))
		assert answer.status_code == 200, answer.text
		return answer.json()


def redirect_parameters(answer: requests.Response) -> dict[str, str]:
	return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def bearer(token: str) -> dict:
	return {"Authorization": f"Bearer {token}"}

"""Browser tests: the Desk as an administrator uses it, in a real Chromium driven by Playwright.

The test site is made a usable Desk first (Frappe's setup wizard, completed through its own
`setup_complete`), then served by gunicorn with Frappe's assets (`bench build` must have built them:
./run-tests refuses to start without), beside Frappe's own realtime server, as `bench start` would.
Chromium is the distribution's (/usr/bin/chromium), launched by Playwright; Playwright's own browser
download is never used. Every test gets a fresh page of one logged-in browser context; what the page
logs as an error fails the test, and each step's screenshot lands in SCREENSHOTS (printed at the end).

What the browser writes is committed by the server: the tests name everything they create uniquely and
delete it afterwards through `committed`.
"""

import contextlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import frappe
from frappe.installer import update_site_config
from frappe.utils.password import update_password

from tests.site_setup import ADMIN_EMAIL, ADMIN_PASSWORD, complete_setup
from tests.web_server import free_port, gunicorn, stop

CHROMIUM = os.environ.get("INTEGRATION_HUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(
	os.environ.get("INTEGRATION_HUB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "integration_hub-desk"
)
WAIT_MS = 30_000
_screenshots_taken = []  # by this session: what the terminal summary points to


@pytest.fixture(scope="session")
def desk_site(site: str) -> str:
	"""The test site with Frappe's setup completed, as an administrator finds a new site after the
	setup wizard; its administrator logs in with ADMIN_EMAIL."""
	frappe.db.rollback()
	if not frappe.db.get_single_value("System Settings", "setup_complete"):
		complete_setup()
	elif frappe.db.exists("User", ADMIN_EMAIL):  # a reused or an ERPNext site: its password is ours
		update_password(ADMIN_EMAIL, ADMIN_PASSWORD)
	frappe.db.commit()
	frappe.set_user("Administrator")
	return site


@pytest.fixture(scope="session")
def realtime(desk_site: str) -> Iterator[int]:
	"""Frappe's realtime (socket.io) server for the site, on a port of its own: the Desk connects to it
	on every page, and an administrator's Desk has one."""
	bench = Path(os.getcwd()).parent
	port = free_port()
	update_site_config("socketio_port", port)
	log = open(SCREENSHOTS.parent / "integration_hub-realtime.log", "wb")
	process = subprocess.Popen(
		["node", str(bench / "apps" / "frappe" / "socketio.js")],
		cwd=bench,
		env={
			**os.environ,
			"FRAPPE_BENCH_ROOT": str(bench),
			"FRAPPE_SOCKETIO_PORT": str(port),
			"FRAPPE_SITE": desk_site,
		},
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	try:
		yield port
	finally:
		stop(process)
		log.close()
		update_site_config("socketio_port", None)


@pytest.fixture(scope="session")
def desk_url(desk_site: str, realtime: int) -> Iterator[str]:
	"""The Desk served by gunicorn on 127.0.0.1, with Frappe's built assets, as `bench start` serves it."""
	env = {
		**os.environ,
		"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
		"INTEGRATION_HUB_SERVED_SITE": desk_site,
		# As `bench start` serves the Desk: the page then connects to the realtime server's own port,
		# where in production a reverse proxy would forward /socket.io.
		"DEV_SERVER": "1",
	}
	log_path = SCREENSHOTS.parent / "integration_hub-desk-server.log"
	with gunicorn(app="tests.browser.desk_wsgi:application", workers=3, env=env, log_path=log_path) as url:
		yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
	SCREENSHOTS.mkdir(parents=True, exist_ok=True)
	with sync_playwright() as playwright:
		chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
		yield chromium
		chromium.close()


def pytest_terminal_summary(terminalreporter) -> None:
	if _screenshots_taken:
		terminalreporter.write_line(
			f"browser tests: {len(_screenshots_taken)} screenshots, one of each step, in {SCREENSHOTS}"
		)


@pytest.fixture(scope="session")
def desk_context(browser: Browser, desk_url: str) -> Iterator[BrowserContext]:
	"""One browser context logged in as the site's administrator, through the login page."""
	context = browser.new_context(
		base_url=desk_url,
		viewport={"width": 1400, "height": 1000},
		permissions=["clipboard-read", "clipboard-write"],
	)
	context.set_default_timeout(WAIT_MS)
	page = context.new_page()
	page.goto("/login")
	page.fill("#login_email", ADMIN_EMAIL)
	page.fill("#login_password", ADMIN_PASSWORD)
	page.click(".btn-login")
	page.wait_for_url(re.compile(r"/app(/|$)"))
	page.close()
	yield context
	context.close()


class Desk:
	"""A page of the logged-in Desk, with the few moves every test makes."""

	def __init__(self, page: Page, name: str) -> None:
		self.page = page
		self.name = name
		self.errors: list[str] = []
		self.steps = 0
		page.on("console", self._console)
		page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
		page.on("response", self._response)

	def _response(self, response) -> None:
		if response.status >= 400:
			self.errors.append(f"HTTP {response.status} for {response.request.method} {response.url}")

	def _console(self, message) -> None:
		if message.type == "error":
			self.errors.append(f"console error on {self.page.url}: {message.text}")

	def open(self, route: str) -> Page:
		self.page.goto(route)
		self.wait_until_idle()
		return self.page

	def wait_until_idle(self) -> None:
		"""No request of the Desk in flight (Frappe marks <body data-ajax-state>), nothing frozen."""
		self.page.wait_for_load_state("networkidle")
		self.page.wait_for_function(
			"""() => document.body.dataset.ajaxState !== 'triggered'
				&& !document.querySelector('#freeze')"""
		)

	def screenshot(self, step: str) -> Path:
		self.steps += 1
		path = SCREENSHOTS / f"{self.name}-{self.steps:02d}-{step}.png"
		self.page.screenshot(path=path, full_page=True)
		_screenshots_taken.append(path)
		return path

	def fill_link(self, fieldname: str, value: str) -> None:
		"""Type into a Link field and pick the value from its dropdown, as a person does."""
		field = self.field(fieldname)
		field.click()
		field.fill(value)
		option = self.page.locator(".awesomplete ul:not([hidden]) [role=option]").filter(has_text=value)
		option.first.click()
		self.wait_until_idle()

	def field(self, fieldname: str, within: str = ".form-layout"):
		return self.page.locator(f'{within} [data-fieldname="{fieldname}"] input:visible').first

	def save(self) -> None:
		self.page.keyboard.press("Control+s")
		self.wait_until_idle()
		self.page.locator(".indicator-pill:has-text('Not Saved')").wait_for(state="hidden")

	def action(self, label: str, group: str | None = None) -> None:
		"""Click a button of the form's toolbar (inside its group's dropdown when it has one). A form
		refresh redraws the toolbar: a click on a redrawn button is tried again."""
		self.wait_until_idle()
		for attempt in range(3):
			try:
				if group:
					self.page.locator(f'.inner-group-button[data-label="{encoded(group)}"] > button').click()
					menu = self.page.locator(".inner-group-button .dropdown-menu.show")
					menu.get_by_text(label, exact=True).click(timeout=5000)
				else:
					self.page.locator(
						f'.page-actions .custom-actions button[data-label="{encoded(label)}"]'
					).click(timeout=5000)
				return
			except PlaywrightTimeout:
				if attempt == 2:
					raise
				self.page.keyboard.press("Escape")
				self.wait_until_idle()

	def dialog(self, title: str | None = None):
		dialog = self.page.locator(".modal.show .modal-dialog")
		if title:
			dialog = dialog.filter(has=self.page.locator(".modal-title", has_text=title))
		dialog.first.wait_for()
		return dialog.first

	def confirm(self) -> None:
		self.dialog().locator(".btn-primary").click()

	def close_dialog(self) -> None:
		self.wait_until_idle()
		self.page.locator(".modal.show .btn-modal-close").last.click()
		self.page.locator(".modal.show").wait_for(state="hidden")

	def clipboard(self) -> str:
		return self.page.evaluate("navigator.clipboard.readText()")


def encoded(label: str) -> str:
	"""Frappe's data-label: the label URL-encoded."""
	from urllib.parse import quote

	return quote(label)


@pytest.fixture
def desk(desk_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Desk]:
	"""A fresh page of the Desk; the test fails if the page logged an error."""
	page = desk_context.new_page()
	view = Desk(page, request.node.name.removeprefix("test_"))
	for stale in SCREENSHOTS.glob(f"{view.name}-*.png"):  # an earlier run's
		stale.unlink()
	try:
		yield view
	finally:
		with contextlib.suppress(Exception):
			view.screenshot("end")
		page.close()
	assert view.errors == [], "\n".join(view.errors)


def wait_for(check, timeout: float = 30, interval: float = 0.25):
	"""Poll `check()` until it returns something truthy; return that."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if result := check():
			return result
		time.sleep(interval)
	raise AssertionError(f"still not true after {timeout} seconds: {check.__doc__ or check}")

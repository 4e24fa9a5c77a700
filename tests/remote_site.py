"""A second real site on the same bench, served over HTTP on 127.0.0.1: the remote system of the sync
tests and of the sync benchmark.

The site is created as ./run-tests creates the test site (`new-site` with a temporary MariaDB
administrator, integration_hub installed), set up by running this module on it in a subprocess (the
test DocTypes, an exposed `Hub Test Item`, a non-exposed `Hub Plain Item` that remote-side code can
only reach through /api/resource, a sync user and API tokens), served by gunicorn, and dropped at the
end. INTEGRATION_HUB_REMOTE_SITE=NAME reuses an existing site instead (migrated, never dropped).

	python -m tests.remote_site setup SITE      (from the bench's sites folder) prints the tokens as JSON
"""

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import requests

from tests.web_server import gunicorn

REPO = Path(__file__).resolve().parent.parent
PLAIN_ITEM = "Hub Plain Item"
SYNC_USER = "remote-sync@example.com"
REUSE_ENV = "INTEGRATION_HUB_REMOTE_SITE"
SERVER_TIMEOUT = 300


@dataclass
class RemoteSite:
	name: str
	base_url: str
	sync_token: str  # key:secret of the sync user (Hub Test Editor)
	admin_token: str  # key:secret of Administrator

	def session(self, token: str | None = None) -> requests.Session:
		session = requests.Session()
		session.headers["Authorization"] = f"token {token or self.admin_token}"
		return session


def _python() -> str:
	return sys.executable


def _sites_path() -> Path:
	return Path(os.getcwd())


def _env() -> dict:
	return {
		**os.environ,
		"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
	}


def _run_in_sites(module_args: list[str], what: str, timeout: int) -> str:
	"""Run `python -m …` from the bench's sites folder; its output, or RuntimeError with its tail."""
	result = subprocess.run(
		[_python(), "-m", *module_args],
		cwd=_sites_path(),
		stdin=subprocess.DEVNULL,
		capture_output=True,
		text=True,
		env=_env(),
		timeout=timeout,
	)
	if result.returncode != 0:
		raise RuntimeError(f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
	return result.stdout


def frappe_cli(*args: str) -> str:
	return _run_in_sites(
		["frappe.utils.bench_helper", "frappe", *args], f"frappe {' '.join(args[:3])}", timeout=900
	)


def _db_admin(sql: str, user: str, password: str) -> None:
	config = json.loads((_sites_path() / "common_site_config.json").read_text())
	connection = pymysql.connect(
		host=config.get("db_host", "127.0.0.1"),
		port=int(config.get("db_port", 3306)),
		user=user,
		password=password,
	)
	try:
		connection.cursor().execute(sql)
	finally:
		connection.close()


@contextlib.contextmanager
def database_administrator() -> Iterator[tuple[str, str]]:
	"""DB_ROOT_USER/DB_ROOT_PASSWORD, or (with an empty password, which Frappe would prompt for) a
	temporary administrator with a random password, dropped afterwards."""
	user, password = os.environ.get("DB_ROOT_USER", "root"), os.environ.get("DB_ROOT_PASSWORD", "")
	if password:
		yield user, password
		return
	temporary = f"ihremote_{secrets.token_hex(6)}"
	temporary_password = secrets.token_hex(24)
	_db_admin(f"CREATE USER '{temporary}'@'%' IDENTIFIED BY '{temporary_password}'", user, password)
	try:
		_db_admin(f"GRANT ALL PRIVILEGES ON *.* TO '{temporary}'@'%' WITH GRANT OPTION", user, password)
		yield temporary, temporary_password
	finally:
		_db_admin(f"DROP USER IF EXISTS '{temporary}'@'%'", user, password)


def create_site(name: str, erpnext: bool = False) -> None:
	"""With `erpnext`, ERPNext is installed first and its setup wizard completed (tests/site_setup.py),
	as ./run-tests makes its test site."""
	apps = ["--install-app", "erpnext"] if erpnext else []
	with database_administrator() as (user, password):
		frappe_cli(
			"new-site", name, "--db-root-username", user, "--db-root-password", password,
			"--admin-password", "admin", *apps, "--install-app", "integration_hub",
		)  # fmt: skip
	if erpnext:
		_run_in_sites(["tests.site_setup", name], f"the setup wizard of {name}", timeout=900)


def drop_site(name: str) -> None:
	if not (_sites_path() / name).is_dir():
		return
	with database_administrator() as (user, password):
		frappe_cli(
			"drop-site",
			name,
			"--db-root-username",
			user,
			"--db-root-password",
			password,
			"--force",
			"--no-backup",
		)
	shutil.rmtree(_sites_path().parent / "archived" / "sites" / name, ignore_errors=True)


def setup_site(name: str, how: str = "setup") -> dict:
	"""Run `setup` below (or `setup-erpnext`) on the site, in a subprocess connected to it; returns its
	tokens."""
	output = _run_in_sites(["tests.remote_site", how, name], f"setting up {name}", timeout=600)
	return json.loads(output.strip().splitlines()[-1])


@contextlib.contextmanager
def serve(name: str, workers: int = 2, log_path: Path | None = None) -> Iterator[str]:
	"""gunicorn serving the site (whatever the Host header) on 127.0.0.1; stopped on exit."""
	with gunicorn(
		app="tests.remote_wsgi:application",
		workers=workers,
		request_timeout=SERVER_TIMEOUT,
		cwd=_sites_path(),
		env={**_env(), "INTEGRATION_HUB_SERVED_SITE": name},
		log_path=log_path,
	) as base_url:
		yield base_url


@contextlib.contextmanager
def remote_site(prefix: str = "ihremote", setup=None, erpnext: bool = False) -> Iterator[RemoteSite]:
	"""A set-up, served remote site for the duration of the block (created and dropped, or reused).
	`setup(name)` prepares it and returns its tokens (default: `setup_site`, for the tests); with
	`erpnext` the site has ERPNext, set up (INTEGRATION_HUB_REMOTE_SITE is then not reused)."""
	reused = None if erpnext else os.environ.get(REUSE_ENV)
	name = reused or f"{prefix}-{int(time.time())}-{os.getpid()}.localhost"
	try:
		if reused:
			frappe_cli("--site", name, "migrate")
		else:
			create_site(name, erpnext)
		tokens = (setup or setup_site)(name)
		with serve(name) as base_url:
			yield RemoteSite(name, base_url, tokens["sync_token"], tokens["admin_token"])
	finally:
		if not reused:
			drop_site(name)


# --- run on the remote site (python -m tests.remote_site setup SITE) ------------------------------


def setup(name: str) -> dict:
	import frappe

	from tests.fixtures_doctypes import EDITOR_ROLE, ITEM, create_test_doctypes, expose_fully

	frappe.init(site=name, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	create_test_doctypes()
	_plain_item_doctype(EDITOR_ROLE)
	expose_fully(ITEM)
	sync_user = _user(SYNC_USER, [EDITOR_ROLE])
	tokens = {"sync_token": _token(sync_user), "admin_token": _token(frappe.get_doc("User", "Administrator"))}
	frappe.db.commit()
	frappe.destroy()
	return tokens


def setup_erpnext(name: str) -> dict:
	"""The remote ERPNext site: Customer exposed (keyed by customer_name), a sync user with ERPNext's
	Sales User role."""
	import frappe

	frappe.init(site=name, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	frappe.get_doc(
		{
			"doctype": "Hub Resource",
			"document_type": "Customer",
			"enabled": 1,
			"allow_read": 1,
			"allow_create": 1,
			"allow_update": 1,
			"key_fields": "customer_name",
		}
	).insert()
	sync_user = _user(SYNC_USER, ["Sales User"])
	tokens = {"sync_token": _token(sync_user), "admin_token": _token(frappe.get_doc("User", "Administrator"))}
	frappe.db.commit()
	frappe.destroy()
	return tokens


def _plain_item_doctype(role: str) -> None:
	import frappe

	if frappe.db.exists("DocType", PLAIN_ITEM):
		frappe.delete_doc("DocType", PLAIN_ITEM, force=True)
	frappe.get_doc(
		{
			"doctype": "DocType",
			"name": PLAIN_ITEM,
			"module": "Integration Hub",
			"custom": 1,
			"autoname": "hash",
			"fields": [
				{"fieldname": "code", "fieldtype": "Data", "label": "Code", "reqd": 1, "unique": 1},
				{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
				{"fieldname": "qty", "fieldtype": "Int", "label": "Quantity"},
			],
			"permissions": [
				{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
				{"role": role, "read": 1, "write": 1, "create": 1, "delete": 1},
			],
		}
	).insert()


def _user(email: str, roles: list[str]):
	import frappe

	if frappe.db.exists("User", email):
		return frappe.get_doc("User", email)
	user = frappe.get_doc(
		{"doctype": "User", "email": email, "first_name": "Remote Sync", "send_welcome_email": 0}
	)
	for role in roles:
		user.append("roles", {"role": role})
	return user.insert()


def _token(user) -> str:
	import frappe

	secret = frappe.generate_hash(length=15)
	user.api_key = user.api_key or frappe.generate_hash(length=15)
	user.api_secret = secret
	user.save(ignore_permissions=True)
	return f"{user.api_key}:{secret}"


if __name__ == "__main__":
	commands = {"setup": setup, "setup-erpnext": setup_erpnext}
	if len(sys.argv) != 3 or sys.argv[1] not in commands:
		raise SystemExit("usage: python -m tests.remote_site setup|setup-erpnext SITE")
	print(json.dumps(commands[sys.argv[1]](sys.argv[2])))

"""What the production scenarios share: names, the figures they state, the hub's clients, cleanup."""

import time
from dataclasses import dataclass

import psutil
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import frappe

from tests.events.support import Receiver
from tests.helpers import read_committed
from tests.production.cluster import Cluster
from tests.web_server import Client

API = "/api/method/integration_hub.api.v1"
NOTE = "Hub Prod Note"  # keyed by `title`, which has no unique index
SOURCE = "Hub Prod Source"  # the remote side of the sync scenario
COPY = "Hub Prod Copy"  # the local side: `code` without a unique index, so a duplicate would show
EDITOR = "prod-editor@example.com"
OPERATOR = "prod-operator@example.com"
FIGURES: list[str] = []


def state_figure(text: str) -> None:
	"""A scenario's figure: printed now, and listed at the end of the run."""
	print(text)
	FIGURES.append(text)


@dataclass
class Hub:
	cluster: Cluster
	editor_token: str  # Bearer ihk_… of a Hub API Key of a Hub Test Editor, scoped to every resource
	operator_token: str  # `token key:secret` of a System Manager and Integration Manager

	def client(self, timeout: float = 60) -> Client:
		client = Client(self.cluster.base_url, self.cluster.site, timeout=timeout)
		client.headers["Authorization"] = f"Bearer {self.editor_token}"
		return client

	def operator(self, timeout: float = 60) -> Client:
		return Client(self.cluster.base_url, self.cluster.site, self.operator_token, timeout=timeout)


def remove_written(doctype: str, key_field: str, prefix: str) -> None:
	"""Delete what a scenario wrote, with its change-feed rows and deliveries (the caller commits)."""
	names = frappe.get_all(doctype, filters={key_field: ["like", f"{prefix}%"]}, pluck="name")
	if names:
		frappe.db.delete(doctype, {"name": ["in", names]})
	deleted = frappe.get_all(
		"Hub Change", filters={"ref_doctype": doctype, "data": ["like", f"%{prefix}%"]}, pluck="docname"
	)
	names = sorted(set(names) | set(deleted))
	if names:
		frappe.db.delete("Hub Change", {"ref_doctype": doctype, "docname": ["in", names]})
		frappe.db.delete("Hub Delivery", {"reference_doctype": doctype, "reference_name": ["in", names]})


class TimedReceiver(Receiver):
	"""The tests' webhook receiver, noting when each request arrived (monotonic seconds)."""

	def __init__(self) -> None:
		super().__init__()
		self.arrived: list[float] = []

	def _record(self, path, headers, body) -> tuple:
		with self._lock:
			self.arrived.append(time.monotonic())
		return super()._record(path, headers, body)

	def first_arrivals(self) -> dict[str, float]:
		"""Event id -> when it first arrived."""
		with self._lock:
			pairs = list(zip(self.received, self.arrived, strict=False))
		first: dict[str, float] = {}
		for request, moment in pairs:
			first.setdefault(request.event_id, moment)
		return first


def unverified(received: list, secret: str) -> int:
	"""How many received requests do not carry a valid Standard Webhooks signature."""
	webhook = Webhook(secret)
	bad = 0
	for request in received:
		try:
			webhook.verify(request.body, request.headers)
		except WebhookVerificationError:
			bad += 1
	return bad


def deliveries_of(subscription: str) -> list[tuple]:
	"""(delivery number, event id, status, reference name, payload) of a subscription, as committed."""
	return read_committed(
		"select name, event, status, reference_name, payload from `tabHub Delivery` where subscription = %s"
		" order by name",
		(subscription,),
	)


def wait_until(condition, timeout: float, interval: float = 0.5) -> bool:
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if condition():
			return True
		time.sleep(interval)
	return condition()


def remove_subscription(name: str) -> None:
	frappe.db.delete("Hub Delivery", {"subscription": name})
	frappe.delete_doc("Hub Subscription", name, force=True, ignore_permissions=True)


def connected_to(process: psutil.Process, port: int) -> bool:
	"""Whether the process holds an open TCP connection to a port of ours."""
	try:
		return any(
			c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
			for c in process.connections(kind="tcp")
		)
	except (psutil.NoSuchProcess, psutil.AccessDenied):
		return False

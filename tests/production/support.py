"""What the production scenarios share: names, the figures they state, the hub's clients, cleanup."""

from dataclasses import dataclass

import frappe

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

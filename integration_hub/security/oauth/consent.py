"""What a user is asked when an application wants to act for them, and the connection their answer
records.

The choices are what the user may do themselves (exposed resources and their operations, curated
methods and reports, through Frappe's permissions), within the scopes the application asked for; each
is ticked, and the user may untick any. The answer is checked again against the same choices when it
comes back: nothing the form carries can grant more.
"""

from dataclasses import dataclass, field

import frappe
from frappe.utils import now_datetime

from integration_hub.documents.exposure import exposed_doctypes, get_resource, permitted_operations
from integration_hub.methods.calling import callable_methods
from integration_hub.reports.running import runnable_reports
from integration_hub.security.api_keys import SCOPE_OPERATIONS
from integration_hub.security.oauth import scopes
from integration_hub.security.oauth.tokens import CONNECTION, Grant, revoke_connection_tokens

OPERATION = "operation"
METHOD = "method"
REPORT = "report"


@dataclass
class Choices:
	"""What the user may grant: operations per resource, methods, reports."""

	operations: dict[str, list[str]] = field(default_factory=dict)
	methods: list[tuple[str, str]] = field(default_factory=list)  # (name, description)
	reports: list[tuple[str, str]] = field(default_factory=list)  # (name, report)

	def is_empty(self) -> bool:
		return not (self.operations or self.methods or self.reports)


def choices(requested: list[str]) -> Choices:
	"""What the session user may grant within the `requested` scopes."""
	offered = Choices()
	for doctype in exposed_doctypes():
		operations = [
			op
			for op in permitted_operations(get_resource(doctype))
			if scopes.OPERATION_SCOPES[op] in requested
		]
		if operations:
			offered.operations[doctype] = operations
	if scopes.CALL in requested:
		offered.methods = [(m.name, m.description or m.path) for m, _function in callable_methods()]
	if scopes.READ in requested:
		offered.reports = [(r.name, r.report) for r in runnable_reports()]
	return offered


def field_name(kind: str, *parts: str) -> str:
	"""A checkbox's name in the consent form."""
	return ":".join((kind, *parts))


def granted(offered: Choices, answer: dict) -> Choices:
	"""The ticked boxes of the `answer`, within what was `offered`."""
	ticked = {name for name, value in answer.items() if value in ("1", "on", 1, True)}
	return Choices(
		operations={
			doctype: kept
			for doctype, ops in offered.operations.items()
			if (kept := [op for op in ops if field_name(OPERATION, doctype, op) in ticked])
		},
		methods=[m for m in offered.methods if field_name(METHOD, m[0]) in ticked],
		reports=[r for r in offered.reports if field_name(REPORT, r[0]) in ticked],
	)


def granted_scope(grant: Choices) -> str:
	"""The OAuth scopes that what was granted needs."""
	needed = {scopes.OPERATION_SCOPES[op] for ops in grant.operations.values() for op in ops}
	needed |= {scopes.CALL} if grant.methods else set()
	needed |= {scopes.READ} if grant.reports else set()
	return " ".join(s for s in scopes.SCOPES if s in needed)


def record(client, user: str, resource: str, grant: Choices) -> Grant:
	"""The user's connection of `client`, holding `grant` (the one connection of this user and client,
	replaced: a new consent is the whole answer)."""
	scope = granted_scope(grant)
	existing = frappe.db.get_value(CONNECTION, {"client": client.name, "user": user, "status": "Active"})
	values = {"scope": scope, "resource": resource, "connected_on": now_datetime()}
	if existing:
		frappe.db.set_value(CONNECTION, existing, values)
		for table in ("Hub API Key Scope", "Hub API Key Method", "Hub API Key Report"):
			frappe.db.delete(table, {"parent": existing, "parenttype": CONNECTION})
		connection = frappe.get_doc(CONNECTION, existing)
	else:
		connection = frappe.new_doc(CONNECTION)
		connection.update(
			{
				"client": client.name,
				"client_name": client.display_name,
				"user": user,
				"status": "Active",
				**values,
			}
		)
	for doctype, ops in grant.operations.items():
		connection.append(
			"scopes", {"resource": doctype, **{f"allow_{op}": int(op in ops) for op in SCOPE_OPERATIONS}}
		)
	for name, _description in grant.methods:
		connection.append("methods", {"method": name})
	for name, _report in grant.reports:
		connection.append("reports", {"report": name})
	_write(connection, existing is None)
	return Grant(connection.name, user, scope)


def _write(connection, new: bool) -> None:
	"""The authorization server's own record of a consent, written as it is: the user may read their
	connections and revoke them, never write one (so nobody widens a consent through the API)."""
	if new:
		connection.db_insert()  # owned by the session's user, who consents: they may then read it
	for table in ("scopes", "methods", "reports"):
		for idx, row in enumerate(connection.get(table), start=1):
			row.update(
				{"parent": connection.name, "parenttype": CONNECTION, "parentfield": table, "idx": idx}
			)
			row.db_insert()


def revoke(connection: str) -> None:
	"""Revoke a connection: its tokens are refused from their next request."""
	frappe.db.set_value(
		CONNECTION,
		connection,
		{"status": "Revoked", "revoked_on": now_datetime(), "revoked_by": frappe.session.user},
	)
	revoke_connection_tokens(connection)

"""What one caller may do through MCP: the exposed resources it may use (exposure ∩ key scopes ∩
Frappe permissions), and the operations it may perform on each."""

from dataclasses import dataclass

from integration_hub.documents.exposure import Resource, exposed_doctypes, get_resource, permitted_operations


@dataclass(frozen=True)
class CallerView:
	"""The exposed resources this caller may do anything with, and what it may do with each."""

	resources: dict[str, tuple[Resource, frozenset[str]]]

	def doctypes(self, operations: frozenset[str]) -> list[str]:
		return [doctype for doctype, (_r, allowed) in self.resources.items() if allowed & operations]

	def resource(self, doctype: str) -> Resource:
		return self.resources[doctype][0]

	def allows(self, doctype: str, operation: str) -> bool:
		return operation in self.resources[doctype][1]


def caller_view() -> CallerView:
	resources = {}
	for doctype in exposed_doctypes():
		resource = get_resource(doctype)
		allowed = frozenset(permitted_operations(resource))
		if allowed:
			resources[doctype] = (resource, allowed)
	return CallerView(resources)

"""`expand`: Link fields answered with the linked document instead of its name, as Stripe expands objects.

A path names a Link field (`customer`), a Link field inside a child table (`items.item_code`), or a
Link of a linked document (`customer.territory`): at most two Links deep. A linked document is shaped
by its own DocType's exposure and the caller's permissions (Hub Resource, key scopes, role and User
Permissions, permlevels) and carries its readable fields and `_version`, not its child tables. A link
to a DocType that is not exposed or that the caller may not read, or to a document the caller may not
read, stays a plain name; so does the rest of a path through it, which is therefore not checked. A
path that does not name a Link field the caller may read is 400.

The linked documents of a whole page are read with one `frappe.get_list` per path (per 1,000 names),
never one query per row.
"""

from dataclasses import dataclass, field

import frappe
from frappe import _

from integration_hub.documents.exposure import Resource, readable_resource
from integration_hub.documents.fields import FieldPolicy, field_policy
from integration_hub.documents.versions import versioned
from integration_hub.exceptions import BadRequest

MAX_LINK_DEPTH = 2
MAX_PATHS = 20
NAMES_PER_QUERY = 1000


@dataclass
class Node:
	"""One field of an expand tree: a Link to expand (`policy` is the linked DocType's, None when the
	link stays a name), or a child table to descend into (`policy` is the table's)."""

	is_table: bool
	policy: FieldPolicy | None
	children: dict[str, "Node"] = field(default_factory=dict)


def parse_expand(raw: object, policy: FieldPolicy, *, tables: bool = True) -> dict[str, Node]:
	"""The expand tree of `raw` (a list of dotted paths, or one comma-separated string), checked against
	what the caller may read. `tables`: whether documents carry their child tables (not list rows)."""
	paths = _paths(raw)
	tree: dict[str, Node] = {}
	for index, path in enumerate(paths):
		_add_path(tree, path.split("."), policy, f"/expand/{index}", tables)
	return tree


def _paths(raw: object) -> list[str]:
	if raw in (None, "", []):
		return []
	if isinstance(raw, str):
		raw = [part.strip() for part in raw.split(",") if part.strip()]
	if not isinstance(raw, list) or not all(isinstance(path, str) and path for path in raw):
		raise BadRequest(_("expand must be a list of field paths"), [{"pointer": "/expand"}])
	if len(raw) > MAX_PATHS:
		raise BadRequest(
			_("At most {0} expand paths are allowed").format(MAX_PATHS), [{"pointer": "/expand"}]
		)
	return raw


def _add_path(tree: dict, segments: list[str], policy: FieldPolicy, pointer: str, tables: bool) -> None:
	links = 0
	for position, fieldname in enumerate(segments):
		last = position == len(segments) - 1
		if fieldname in policy.tables and tables and not last:
			node = tree.setdefault(fieldname, Node(True, policy.tables[fieldname]))
		else:
			target = _link_target(policy, fieldname, pointer)
			links += 1
			if links > MAX_LINK_DEPTH:
				raise BadRequest(
					_("expand reaches at most {0} links deep").format(MAX_LINK_DEPTH),
					[{"pointer": pointer, "detail": _("too deep")}],
				)
			node = tree.setdefault(fieldname, Node(False, _readable_policy(target)))
			if node.policy is None:
				return  # the link stays a name: nothing further to expand, or to check
		tree, policy = node.children, node.policy


def _link_target(policy: FieldPolicy, fieldname: str, pointer: str) -> str:
	df = policy.readable.get(fieldname)
	if df is None or df.fieldtype != "Link":
		raise BadRequest(
			_("Cannot expand {0}: it is not a Link field of {1} that you may read").format(
				frappe.bold(fieldname[:140]), policy.doctype
			),
			[{"pointer": pointer, "detail": _("not a readable Link field")}],
		)
	return df.options


def _readable_policy(doctype: str) -> FieldPolicy | None:
	"""The caller's field policy of an exposed DocType it may read, else None."""
	resource = readable_resource(doctype)
	return field_policy(resource) if resource else None


def root_fields(tree: dict[str, Node]) -> list[str]:
	"""The fields a list row must carry for the tree to expand."""
	return list(tree)


def expand_documents(documents: list[dict], tree: dict[str, Node]) -> None:
	"""Replace, in place, the expandable links of `documents` (shaped documents or list rows)."""
	for fieldname, node in tree.items():
		if node.is_table:
			rows = [row for doc in documents for row in doc.get(fieldname) or []]
			expand_documents(rows, node.children)
		elif node.policy is not None:
			_expand_link(documents, fieldname, node)


def _expand_link(documents: list[dict], fieldname: str, node: Node) -> None:
	names = {doc[fieldname] for doc in documents if isinstance(doc.get(fieldname), str) and doc[fieldname]}
	linked = _readable_documents(node.policy, sorted(names))
	expanded = []
	for doc in documents:
		target = linked.get(doc.get(fieldname))
		if target is not None:
			doc[fieldname] = copy = dict(target)  # each holder its own copy: deeper links expand in it
			expanded.append(copy)
	if expanded and node.children:
		expand_documents(expanded, node.children)


def _readable_documents(policy: FieldPolicy, names: list[str]) -> dict[str, dict]:
	"""The named documents the caller may read, by name, with the fields the policy lets it read."""
	found = {}
	for start in range(0, len(names), NAMES_PER_QUERY):
		chunk = names[start : start + NAMES_PER_QUERY]
		rows = frappe.get_list(
			policy.doctype,
			filters={"name": ["in", chunk]},
			fields=policy.scalar_readable(),
			limit_page_length=len(chunk),
			order_by=None,
		)
		for row in rows:
			found[row["name"]] = versioned(row, policy.doctype, policy)
	return found


def expandable_paths(resource: Resource) -> list[str]:
	"""The first-level paths the caller may expand on `resource` (for describe): its readable Link
	fields, and those of its child tables, whose DocType is exposed and readable to the caller."""
	policy = field_policy(resource)
	paths = [name for name in _links(policy) if _readable_policy(_target(policy, name))]
	for table, child in policy.tables.items():
		paths += [f"{table}.{name}" for name in _links(child) if _readable_policy(_target(child, name))]
	return paths


def _links(policy: FieldPolicy) -> list[str]:
	return [name for name, df in policy.readable.items() if df is not None and df.fieldtype == "Link"]


def _target(policy: FieldPolicy, fieldname: str) -> str:
	return policy.readable[fieldname].options

"""documents/permissions.py answers a document's permission as Frappe does, taking its shortcut only where
no rule about the document (an owner rule, a User Permission, a hook) can change the answer."""

import itertools

import pytest

import frappe
import frappe.share

from integration_hub.documents.permissions import has_document_permission, no_document_rules
from tests.factories import CategoryFactory, ItemFactory, UserFactory, UserPermissionFactory
from tests.fixtures_doctypes import EDITOR_ROLE, ITEM, OWNER_EDITOR_ROLE, READER_ROLE

pytestmark = pytest.mark.usefixtures("exposed_items")

PTYPES = ("read", "write", "create", "delete", "submit", "share", "print")


@pytest.fixture
def callers(as_user):
	mine, theirs = CategoryFactory(), CategoryFactory()
	restricted = UserFactory(roles=[EDITOR_ROLE])
	UserPermissionFactory(user=restricted.name, for_value=mine.name)
	owner_editor = UserFactory(roles=[OWNER_EDITOR_ROLE])
	nobody = UserFactory(roles=[])
	items = [ItemFactory(category=mine.name), ItemFactory(category=theirs.name)]
	with as_user(owner_editor.name):
		items.append(ItemFactory(category=theirs.name))  # owned by the owner editor
	frappe.share.add(ITEM, items[1].name, nobody.name, read=1)
	users = [
		"Administrator",
		UserFactory(roles=[EDITOR_ROLE]).name,
		UserFactory(roles=[READER_ROLE]).name,
		restricted.name,
		owner_editor.name,
		nobody.name,
	]
	return users, items


def test_every_answer_is_frappes(callers):
	users, items = callers
	disagreements = [
		(user, item.name, ptype)
		for user, item, ptype in itertools.product(users, items, PTYPES)
		if has_document_permission(item, ptype, user=user)
		!= frappe.has_permission(ITEM, ptype, doc=item, user=user)
	]
	assert disagreements == []
	# The matrix has both answers, so agreeing is not trivial.
	answers = {has_document_permission(item, "read", user=user) for user in users for item in items}
	assert answers == {True, False}


def test_an_owner_rule_decides_by_the_documents_owner(callers):
	users, items = callers
	owner_editor = users[4]
	assert not has_document_permission(items[0], "write", user=owner_editor)
	assert has_document_permission(items[2], "write", user=owner_editor)


def test_the_shortcut_is_taken_only_without_user_permissions(callers):
	users, _items = callers
	assert no_document_rules(ITEM, users[1])
	assert not no_document_rules(ITEM, users[3])  # restricted by a User Permission


def test_a_user_permission_given_meanwhile_counts_at_once(callers):
	users, items = callers
	editor = users[1]
	assert has_document_permission(items[1], "read", user=editor)  # decided, and remembered
	UserPermissionFactory(user=editor, for_value=items[0].category)

	assert not has_document_permission(items[1], "read", user=editor)
	assert has_document_permission(items[0], "read", user=editor)


def test_a_shared_document_is_readable_by_a_user_without_roles(callers):
	users, items = callers
	nobody = users[5]
	assert has_document_permission(items[1], "read", user=nobody)
	assert not has_document_permission(items[0], "read", user=nobody)


def test_bulk_upsert_of_an_owner_editor_writes_only_its_own_items(api, as_user, callers):
	users, items = callers
	owner_editor = users[4]
	with as_user(owner_editor):
		status, body = api(
			"bulk_upsert",
			doctype=ITEM,
			records=[{"code": items[2].code, "qty": 7}, {"code": items[0].code, "qty": 7}],
		)
	assert status == 200, body
	results = body["message"]["results"]
	assert [result["status"] for result in results] == ["updated", "failed"]
	assert results[1]["error"]["code"] == "PERMISSION_DENIED"
	assert frappe.db.get_value(ITEM, items[0].name, "qty") == items[0].qty

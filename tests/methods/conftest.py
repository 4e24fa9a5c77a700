import pytest

from tests.factories import HubMethodFactory

# Frappe's own whitelisted methods, the same on every v15 release the hub supports: Frappe runs only
# methods of installed apps at /api/method, and so does the hub, so the tests cannot bring their own.
DEFAULT_ADDRESS = "frappe.contacts.doctype.address.address.get_default_address"  # typed, reads
SHARED_WITH = "frappe.share.get_users"  # reads what the caller may read
MARK_NOTE_SEEN = "frappe.desk.doctype.note.note.mark_as_seen"  # writes


@pytest.fixture
def expose_method():
	"""`expose_method("seen", MARK_NOTE_SEEN, only_reads=1)`: a Hub Method."""

	def expose(name: str, path: str, **values):
		return HubMethodFactory(method_name=name, method_path=path, **values)

	return expose

"""Sites installed before the hub cached its log DocTypes' name sequences get them cached too (new
installs do it in each DocType's on_doctype_update)."""

from integration_hub.install import cache_name_sequence


def execute():
	for doctype in ("Hub Delivery", "Hub Change"):
		cache_name_sequence(doctype)

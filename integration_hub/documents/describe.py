"""What an exposed resource looks like to the caller: key, permitted operations, fields."""

import frappe

from integration_hub.documents.expansion import expandable_paths
from integration_hub.documents.exposure import Resource, authorize, permitted_operations
from integration_hub.documents.fields import FieldPolicy, field_policy
from integration_hub.documents.naming import generates_names

METADATA_FIELD_TYPES = {
	"name": "Data",
	"creation": "Datetime",
	"modified": "Datetime",
	"docstatus": "Int",
	"owner": "Link",
	"modified_by": "Link",
	"idx": "Int",
}


def describe_resource(resource: Resource) -> dict:
	authorize(resource, "read")
	policy = field_policy(resource)
	return {
		"doctype": resource.doctype,
		"key_fields": list(resource.key_fields),
		"operations": permitted_operations(resource),
		"max_page_size": resource.max_page_size,
		"max_batch_size": resource.max_batch_size,
		"generated_names": generates_names(resource.doctype),
		"expandable": expandable_paths(resource),
		"fields": describe_fields(policy),
	}


def describe_fields(policy: FieldPolicy) -> list[dict]:
	described = [_describe(fieldname, df, policy) for fieldname, df in policy.readable.items()]
	for table, child_policy in policy.tables.items():
		entry = _describe(table, frappe.get_meta(policy.doctype).get_field(table), policy)
		entry["fields"] = describe_fields(child_policy)
		described.append(entry)
	return described


def _describe(fieldname: str, df, policy: FieldPolicy) -> dict:
	if df is None:  # a standard column such as name or modified
		return {
			"fieldname": fieldname,
			"label": frappe.unscrub(fieldname),
			"fieldtype": METADATA_FIELD_TYPES.get(fieldname, "Data"),
			"options": "User" if fieldname in ("owner", "modified_by") else None,
			"reqd": 0,
			"read_only": 1,
		}
	return {
		"fieldname": fieldname,
		"label": df.label,
		"fieldtype": df.fieldtype,
		"options": df.options or None,
		"reqd": df.reqd,
		"read_only": 0 if fieldname in policy.writable else 1,
	}

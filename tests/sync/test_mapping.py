"""The field map and its transforms, in both directions."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import frappe
from frappe.utils import get_system_timezone

from integration_hub.exceptions import MappingError
from integration_hub.mapping.field_maps import FieldMap, FieldRule
from integration_hub.mapping.transforms import transform_value
from tests.factories import CategoryFactory


@pytest.mark.parametrize(
	"transform, value, expected",
	[
		("str", 5, "5"),
		("int", "12", 12),
		("int", " -3 ", -3),
		("int", 7.0, 7),
		("int", True, 1),
		("float", "1.5", 1.5),
		("float", 2, 2.0),
		("bool", "Yes", 1),
		("bool", "off", 0),
		("bool", 1, 1),
		("bool", None, 0),
		("bool", False, 0),
		("date", "2026-03-01T23:10:00", "2026-03-01"),
		("date", "01 March 2026", "2026-03-01"),
		("datetime", "2026-03-01 10:00:05", "2026-03-01 10:00:05.000000"),
		("lower", "ABC", "abc"),
		("upper", "abc", "ABC"),
		("strip", "  x ", "x"),
		("", {"kept": "as is"}, {"kept": "as is"}),
		("int", None, None),
	],
)
def test_each_transform_converts_a_value(transform, value, expected):
	assert transform_value(transform, value) == expected


@pytest.mark.parametrize(
	"transform, value",
	[("int", "12abc"), ("int", 1.5), ("int", "1e3"), ("float", "many"), ("bool", "maybe"), ("date", "not a date"),
	 ("datetime", "soon"), ("lower", {"a": 1}), ("int", [1])],
)  # fmt: skip
def test_a_value_that_does_not_convert_exactly_is_refused(transform, value):
	with pytest.raises(MappingError):
		transform_value(transform, value)


def test_a_datetime_with_an_offset_is_converted_to_the_site_time_zone():
	converted = transform_value("datetime", "2026-03-01T10:00:00+02:00")

	expected = datetime.datetime(2026, 3, 1, 8, tzinfo=datetime.timezone.utc).astimezone(
		ZoneInfo(get_system_timezone())
	)
	assert converted == expected.strftime("%Y-%m-%d %H:%M:%S.%f")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_int_accepts_any_whole_number_and_its_text(number):
	assert transform_value("int", number) == number
	assert transform_value("int", str(number)) == number


def field_map(*rules) -> FieldMap:
	return FieldMap([FieldRule(*rule) for rule in rules])


def test_pull_maps_nested_fields_constants_and_lookups():
	category = CategoryFactory()
	mapping = field_map(
		("sku", "code", "strip", "", True),
		("details.name", "title", "", "", False),
		("", "status", "constant", "Active", False),
		("group.label", "category", "lookup", "Hub Test Category.category_name", False),
	)

	local = mapping.to_local(
		{
			"sku": " A-1 ",
			"details": {"name": "Anvil"},
			"status": "ignored",
			"group": {"label": category.category_name},
		}
	)

	assert local == {"code": "A-1", "title": "Anvil", "status": "Active", "category": category.name}
	assert mapping.key_local_fields == ("code",) and mapping.key_remote_fields == ("sku",)
	assert mapping.remote_fields == ["sku", "details", "group"]


def test_push_maps_back_with_the_lookup_reversed():
	category = CategoryFactory()
	mapping = field_map(
		("sku", "code", "", "", True),
		("group.label", "category", "lookup", "Hub Test Category.category_name", False),
		("source", "title", "constant", "hub", False),
	)

	remote = mapping.to_remote({"code": "A-1", "category": category.name, "title": "whatever"})

	assert remote == {"sku": "A-1", "group": {"label": category.category_name}, "source": "hub"}


def test_every_field_that_cannot_be_mapped_is_named():
	mapping = field_map(
		("qty", "qty", "int", "", False),
		("when", "notes", "date", "", False),
		("cat", "category", "lookup", "Hub Test Category.category_name", False),
	)

	with pytest.raises(MappingError) as caught:
		mapping.to_local({"qty": "lots", "when": "never", "cat": f"missing-{frappe.generate_hash(length=6)}"})

	assert [e["pointer"] for e in caught.value.errors] == ["/qty", "/when", "/cat"]


def test_child_rows_are_copied_without_the_other_sites_bookkeeping():
	mapping = field_map(("rows", "rows", "", "", False))

	local = mapping.to_local(
		{"rows": [{"name": "abc", "idx": 1, "parent": "X", "parenttype": "T", "item_code": "I", "qty": 2}]}
	)

	assert local == {"rows": [{"item_code": "I", "qty": 2}]}

"""Deliveries written before `sequence_key` existed are ordered by their document's name, as before."""

import frappe


def execute():
	frappe.db.sql("update `tabHub Delivery` set sequence_key = reference_name where sequence_key is null")

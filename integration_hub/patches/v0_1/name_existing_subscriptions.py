"""Hub Subscription gained a required Subscription Name (its name from now on). Subscriptions made
before were named by a random hash: that hash becomes their Subscription Name, so they keep their name
(and every link to them) and can be saved again without filling the field first."""

import frappe


def execute():
	frappe.db.sql(
		"update `tabHub Subscription` set subscription_name = name"
		" where subscription_name is null or subscription_name = ''"
	)

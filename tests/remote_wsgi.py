"""WSGI entry point that serves one site whatever the Host header says, for a remote site in tests
and benchmarks reached as http://127.0.0.1:PORT (as a real remote is reached by its own host name)."""

import os

import frappe.app

frappe.app._site = os.environ["INTEGRATION_HUB_SERVED_SITE"]
application = frappe.app.application

"""WSGI entry point for the browser tests: Frappe's application serving one site whatever the Host
header says (as tests/remote_wsgi.py), with /assets and /files served as `bench serve` serves them (in
production a reverse proxy serves those). The browser then reaches the Desk at http://127.0.0.1:PORT,
a secure context where the clipboard works, and Frappe's realtime server can call the site back."""

import os

import frappe.app

frappe.app._site = os.environ["INTEGRATION_HUB_SERVED_SITE"]
application = frappe.app.application_with_statics()

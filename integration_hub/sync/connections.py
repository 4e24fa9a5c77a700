"""Clients for a Hub Connection, what a job reads from or writes to through them, and the
connection test behind the form's button."""

import frappe
from frappe import _
from frappe.utils import now_datetime

from integration_hub.exceptions import InvalidSyncSetting
from integration_hub.http_client import OutboundRequestRefused
from integration_hub.mapping.field_maps import FieldMap
from integration_hub.sync.clients.base import RemoteError, error_text, send
from integration_hub.sync.clients.frappe import FrappeClient
from integration_hub.sync.clients.rest import RestClient
from integration_hub.sync.sources import FrappeListSource, HubFeedSource, RestSource
from integration_hub.sync.targets import FrappeResourceTarget, HubTarget


def build_client(connection) -> FrappeClient | RestClient:
	if connection.connection_type == "Frappe":
		return FrappeClient(connection)
	return RestClient(connection)


def pull_source(job, client, fieldmap: FieldMap):
	"""Where a Pull job reads: the change feed of a remote integration_hub that exposes the DocType to
	the connection's user, else the remote's `/api/resource`; or a REST endpoint."""
	if isinstance(client, RestClient):
		return RestSource(client, job)
	if client.hub_info() and client.exposes(job.remote_resource):
		return HubFeedSource(client, job.remote_resource)
	return FrappeListSource(client, job.remote_resource, fieldmap.remote_fields, job.lookback_seconds)


def push_target(job, client, fieldmap: FieldMap):
	if not isinstance(client, FrappeClient):
		frappe.throw(_("Push needs a Frappe connection"), exc=InvalidSyncSetting)
	if client.hub_info() and client.exposes(job.remote_resource):
		return HubTarget(client, job.remote_resource, fieldmap.key_remote_fields)
	return FrappeResourceTarget(client, job.remote_resource, fieldmap.key_remote_fields)


def test_connection(connection) -> dict:
	"""Call the remote with the connection's settings and say what answered; the result is also kept
	on the connection."""
	result = {
		"test_status": "Failed",
		"tested_at": now_datetime(),
		"remote_user": None,
		"remote_version": None,
		"remote_has_integration_hub": 0,
		"remote_integration_hub_version": None,
	}
	client = build_client(connection)
	try:
		if isinstance(client, FrappeClient):
			result.update(_test_frappe(client))
		else:
			result.update(_test_rest(client))
	except (RemoteError, OutboundRequestRefused) as e:
		result["test_message"] = error_text(str(e))
	finally:
		client.close()
	frappe.db.set_value(connection.doctype, connection.name, result, update_modified=False)
	return result


def _test_frappe(client: FrappeClient) -> dict:
	user = client.logged_user()
	if not user or user == "Guest":
		return {"test_message": _("The remote answered, but the credentials were not accepted")}
	hub = client.hub_info()
	version = (hub or {}).get("frappe_version") or client.frappe_version()
	if hub:
		message = _(
			"Connected as {0} to Frappe {1} running integration_hub {2}: sync uses its change feed, deletions included, and bulk upserts"
		).format(user, version, hub.get("version"))
	else:
		message = _(
			"Connected as {0} to Frappe {1} without integration_hub: sync reads /api/resource by modified and cannot see deletions"
		).format(user, version)
	return {
		"test_status": "OK",
		"test_message": message,
		"remote_user": user,
		"remote_version": version,
		"remote_has_integration_hub": int(bool(hub)),
		"remote_integration_hub_version": (hub or {}).get("version"),
	}


def _test_rest(client: RestClient) -> dict:
	response = send(client.session, "GET", client.url(""))
	if response.status_code in (401, 403):
		return {
			"test_message": _("The remote answered {0}: the credentials were not accepted").format(
				response.status_code
			)
		}
	if response.status_code >= 500:
		return {"test_message": _("The remote answered {0}").format(response.status_code)}
	return {"test_status": "OK", "test_message": _("The remote answered {0}").format(response.status_code)}

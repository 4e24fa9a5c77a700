"""The transport to a generic JSON HTTP API: GET a path, refusals read into a RemoteError. The sync
source that pages through one of its lists is sync/sources.RestSource."""

from frappe import _

from integration_hub.sync.clients.base import (
	RemoteClient,
	RemoteError,
	error_text,
	json_body,
	send,
)


class RestClient(RemoteClient):
	def get(self, path: str, params: dict | None = None) -> object:
		response = send(self.session, "GET", self.url(path), params=params)
		if response.status_code >= 400:
			raise RemoteError(
				_("The remote answered {0}: {1}").format(response.status_code, error_text(response.text)),
				status=response.status_code,
			)
		return json_body(response)

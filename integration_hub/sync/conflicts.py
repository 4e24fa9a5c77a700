"""The conflict policy of a sync job, one rule for both directions.

A record conflicts when the side it would overwrite changed since the pair was last synced (as its Hub
Sync Link records). The job's `conflict_policy` settles it: `remote_wins`, `local_wins`, or
`newest_wins` (the later `modified`; a record without one cannot be compared and wins). Pull asks about
remote records coming in, Push about local ones going out: the same rule, seen from either side. Pull
and Push jobs of a connection and DocType share their links, so a pair of them converges.
"""

from integration_hub.sync import state

REMOTE, LOCAL = "remote", "local"


class ConflictPolicy:
	def __init__(self, name: str | None) -> None:
		self.name = name or "remote_wins"

	def may_refuse(self, incoming: str) -> bool:
		"""Whether a record coming from the `incoming` side can ever lose, so that the version it would
		overwrite must be read first."""
		return self.name != f"{incoming}_wins"

	def refuses(
		self, incoming: str, link: state.SyncLink | None, present: dict, incoming_modified: object
	) -> bool:
		"""Whether a record from the `incoming` side must not overwrite `present` ({"name",
		"modified"}, the other side's version): it changed since the last sync and wins."""
		return changed_since_sync(link, LOCAL if incoming == REMOTE else REMOTE, present) and not (
			self._incoming_wins(incoming, incoming_modified, present["modified"])
		)

	def _incoming_wins(self, incoming: str, incoming_modified: object, present_modified: object) -> bool:
		if self.name == "newest_wins":
			return incoming_modified in (None, "") or state.newer(incoming_modified, present_modified)
		return self.name == f"{incoming}_wins"


def changed_since_sync(link: state.SyncLink | None, side: str, version: dict) -> bool:
	"""Whether `side`'s document (`version`: {"name", "modified"}) changed since the pair was last
	synced, or was never synced."""
	return (
		link is None
		or getattr(link, f"{side}_name") != version["name"]
		or not state.same_instant(getattr(link, f"{side}_modified"), version["modified"])
	)

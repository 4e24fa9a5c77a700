"""The consent page's form as a browser sees it (stdlib only: tests/mcp_client.py, run with the MCP
SDK's Python, uses it too)."""

from html.parser import HTMLParser


class ConsentForm(HTMLParser):
	"""The consent page's form: where it posts, and the inputs a browser would send."""

	def __init__(self) -> None:
		super().__init__()
		self.action, self.fields, self.checkboxes, self.title = None, [], [], ""
		self._in_title = self._in_form = False

	def handle_starttag(self, tag, attrs):
		attrs = dict(attrs)
		if tag == "form" and "approve" in (attrs.get("action") or ""):
			self.action, self._in_form = attrs["action"], True
		if tag == "input" and self._in_form and attrs.get("type") == "hidden":
			self.fields.append((attrs["name"], attrs.get("value", "")))
		if tag == "input" and self._in_form and attrs.get("type") == "checkbox":
			self.checkboxes.append((attrs["name"], "checked" in attrs))
		self._in_title = tag == "title"

	def handle_endtag(self, tag):
		if tag == "form":
			self._in_form = False

	def handle_data(self, data):
		if self._in_title:
			self.title += data

	def answer(self, untick=(), decision="allow") -> list[tuple[str, str]]:
		"""What a browser posts: the hidden fields, the boxes left ticked, and the button pressed."""
		ticked = [(name, "1") for name, checked in self.checkboxes if checked and name not in set(untick)]
		return [*self.fields, *ticked, ("decision", decision)]

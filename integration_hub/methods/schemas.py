"""How a call to each curated method looks, as JSON Schema: OpenAPI's `call_method` body and the MCP
tool of each method are built from these."""

from integration_hub.methods.arguments import arguments_schema
from integration_hub.methods.catalog import HubMethod

SAVE_DESCRIPTION = "Save the returned {0}, with data's changes to its own fields, in this call"
SUBMIT_DESCRIPTION = "Save and submit the returned {0} in this call (both, or neither)"


def call_properties(method: HubMethod, function) -> dict:
	"""The call's arguments besides the method's name: `args`, and for a method that returns a new
	document, `save`, `submit` and `data`."""
	properties = {"args": {**arguments_schema(function), "description": "The method's arguments"}}
	if method.returns_doctype:
		doctype = method.returns_doctype
		properties.update(
			save={"type": "boolean", "default": False, "description": SAVE_DESCRIPTION.format(doctype)},
			submit={"type": "boolean", "default": False, "description": SUBMIT_DESCRIPTION.format(doctype)},
			data={
				"type": "object",
				"description": f"Changes to the {doctype}'s own fields before it is saved",
			},
		)
	return properties


def call_body_schema(method: HubMethod, function) -> dict:
	"""The body of one call of `method` at call_method."""
	return {
		"type": "object",
		"title": method.name,
		"description": method.description or method.name,
		"required": ["method"],
		"properties": {"method": {"const": method.name}, **call_properties(method, function)},
		"additionalProperties": False,
	}

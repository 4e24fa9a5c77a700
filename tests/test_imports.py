"""The app's modules import one another without circles, counting imports inside functions (which hide
a circle from Python at import time, not from the reader) and leaving out `if TYPE_CHECKING:` blocks."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "integration_hub"


def test_no_import_circles():
	graph = _import_graph()
	circles = [component for component in _strongly_connected(graph) if len(component) > 1]
	assert not circles, "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in circles)


def test_the_graph_sees_imports_inside_functions():
	# The check above is only as good as the graph: request_id imported limits inside a function.
	graph = _import_graph()
	assert "integration_hub.paths" in graph["integration_hub.request_id"]
	assert "integration_hub.documents.exposure" in graph["integration_hub.security.limits"]


def _import_graph() -> dict[str, set[str]]:
	modules = {_module_name(path): path for path in APP.rglob("*.py")}
	graph = {}
	for name, path in modules.items():
		tree = ast.parse(path.read_text(), filename=str(path))
		graph[name] = {target for target in _imported(tree, name) if target in modules and target != name}
	return graph


def _module_name(path: Path) -> str:
	parts = list(path.relative_to(APP.parent).with_suffix("").parts)
	if parts[-1] == "__init__":
		parts.pop()
	return ".".join(parts)


def _imported(tree: ast.AST, module: str) -> set[str]:
	found = set()
	for node in _walk_outside_type_checking(tree):
		if isinstance(node, ast.Import):
			found.update(alias.name for alias in node.names)
		elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
			found.add(node.module)
			# `from package import module` imports the module
			found.update(f"{node.module}.{alias.name}" for alias in node.names)
	return found


def _walk_outside_type_checking(tree: ast.AST):
	for node in ast.iter_child_nodes(tree):
		if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
			yield from (n for child in node.orelse for n in ast.walk(child))
			continue
		yield node
		yield from _walk_outside_type_checking(node)


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
	"""Tarjan's algorithm, iterative."""
	index, low, on_stack, stack, components = {}, {}, set(), [], []
	counter = 0
	for root in graph:
		if root in index:
			continue
		work = [(root, iter(sorted(graph[root])))]
		index[root] = low[root] = counter
		counter += 1
		stack.append(root)
		on_stack.add(root)
		while work:
			node, children = work[-1]
			child = next(children, None)
			if child is not None:
				if child not in index:
					index[child] = low[child] = counter
					counter += 1
					stack.append(child)
					on_stack.add(child)
					work.append((child, iter(sorted(graph[child]))))
				elif child in on_stack:
					low[node] = min(low[node], index[child])
				continue
			work.pop()
			if work:
				low[work[-1][0]] = min(low[work[-1][0]], low[node])
			if low[node] == index[node]:
				component = set()
				while True:
					member = stack.pop()
					on_stack.discard(member)
					component.add(member)
					if member == node:
						break
				components.append(component)
	return components

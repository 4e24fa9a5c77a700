"""The official MCP Python SDK in a virtualenv of its own, made on first use.

The SDK needs a newer pydantic than Frappe 15 pins, so it cannot be installed in the bench's
environment. The tests (and benchmarks/bench_mcp.py) run `tests/mcp_client.py` with this virtualenv's
Python instead. Its requirements are the `mcp-client` extra of pyproject.toml, pinned; the virtualenv
lives in the user's cache folder (outside the checkout), one per set of requirements, and is made again
only when they change. Making it needs PyPI (or the pip index configured for the machine).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
	import tomllib
except ImportError:  # Python 3.10
	import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CLIENT_SCRIPT = REPO / "tests" / "mcp_client.py"
EXTRA = "mcp-client"


def requirements(extra: str = EXTRA) -> list[str]:
	project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
	return list(project["optional-dependencies"][extra])


def venv_dir(extra: str = EXTRA) -> Path:
	cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
	digest = hashlib.sha256(json.dumps([sys.version_info[:2], requirements(extra)]).encode()).hexdigest()[:12]
	name = "mcp-sdk" if extra == EXTRA else extra
	return cache / "integration_hub" / f"{name}-{digest}"


def sdk_python(extra: str = EXTRA) -> Path:
	"""The Python of the virtualenv of `extra` (the MCP SDK's by default), made if it is missing."""
	target = venv_dir(extra)
	python = target / "bin" / "python"
	if (target / "ready").exists():
		return python
	target.parent.mkdir(parents=True, exist_ok=True)
	scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
	try:
		subprocess.run([sys.executable, "-m", "venv", str(scratch)], check=True, capture_output=True)
		subprocess.run(
			[str(scratch / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements(extra)],
			check=True,
			capture_output=True,
			text=True,
		)
		(scratch / "ready").write_text("\n".join(requirements(extra)) + "\n")
		shutil.rmtree(target, ignore_errors=True)
		scratch.rename(target)  # only bin/python is used, and it works wherever the folder is
	except subprocess.CalledProcessError as e:
		shutil.rmtree(scratch, ignore_errors=True)
		raise RuntimeError(f"could not make the {extra} virtualenv: {e.stderr or e.stdout}") from e
	return python


def run_client(scenario: dict, timeout: float = 600) -> dict:
	"""Run tests/mcp_client.py with the SDK's Python on `scenario`; its JSON outcome."""
	completed = subprocess.run(
		[str(sdk_python()), str(CLIENT_SCRIPT)],
		input=json.dumps(scenario),
		capture_output=True,
		text=True,
		timeout=timeout,
		check=False,
	)
	if completed.returncode != 0:
		raise RuntimeError(f"the MCP client failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
	return json.loads(completed.stdout)

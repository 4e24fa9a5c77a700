"""Run the benchmarks against one site and print one side-by-side table.

Started by `benchmarks/run` from the bench's `sites` folder with the bench's Python:

	python benchmarks/runner.py --site SITE [--only NAME ...]

It connects to the site, starts a real gunicorn for it on 127.0.0.1, runs `run(context)` of every
`benchmarks/bench_*.py` module (or only the named ones) and prints their rows. A missed target is
reported as MISSED but does not change the exit status; an error in a benchmark does.
"""

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS_DIR.parent))

import frappe

from benchmarks.harness import BENCHMARK_USER, Context, ensure_benchmark_user, web_server

COLUMNS = ("benchmark", "baseline", "measured", "ratio", "target", "met")


def discover(only: list[str]) -> list[str]:
	"""Module names of the benchmarks to run: every bench_*.py, or those named (with or without `bench_`)."""
	available = sorted(path.stem for path in BENCHMARKS_DIR.glob("bench_*.py"))
	if not only:
		return available
	wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in only]
	unknown = [name for name in wanted if name not in available]
	if unknown:
		raise SystemExit(
			f"benchmarks/run: no benchmark named {', '.join(unknown)}; available: "
			+ ", ".join(name.removeprefix("bench_") for name in available)
		)
	return wanted


def validate_rows(module_name: str, rows: object) -> list[dict]:
	if not isinstance(rows, list) or not all(isinstance(r, dict) and set(COLUMNS) <= set(r) for r in rows):
		raise TypeError(
			f"{module_name}.run(context) must return a list of dicts with keys {', '.join(COLUMNS)}"
		)
	return rows


def format_table(rows: list[dict]) -> str:
	"""A Markdown table (readable as plain text too)."""
	cells = [list(COLUMNS)]
	for r in rows:
		met = {True: "yes", False: "MISSED", None: "-"}[r["met"]]
		ratio = f"{r['ratio']:.2f}x" if isinstance(r["ratio"], int | float) else "-"
		cells.append(
			[str(r["benchmark"]), str(r["baseline"]), str(r["measured"]), ratio, r["target"] or "-", met]
		)
	widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
	lines = [
		"| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in cells
	]
	lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
	return "\n".join(lines)


def main() -> int:
	parser = argparse.ArgumentParser(prog="benchmarks/run")
	parser.add_argument("--site", required=True)
	parser.add_argument("--only", nargs="+", default=[], metavar="NAME")
	args = parser.parse_args()
	modules = discover(args.only)

	frappe.init(site=args.site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	token = ensure_benchmark_user()
	rows: list[dict] = []
	failures: list[str] = []
	started = time.monotonic()
	with tempfile.TemporaryDirectory() as scratch:
		with web_server(args.site, os.getcwd(), Path(scratch) / "gunicorn.log") as base_url:
			context = Context(site=args.site, base_url=base_url, user=BENCHMARK_USER, token=token)
			try:
				for name in modules:
					print(f"benchmarks/run: {name}", file=sys.stderr, flush=True)
					try:
						module = importlib.import_module(f"benchmarks.{name}")
						rows += validate_rows(name, module.run(context))
					except Exception:
						frappe.db.rollback()
						traceback.print_exc()
						failures.append(name)
			finally:
				context.close()
	frappe.destroy()

	print()
	print(format_table(rows))
	print()
	targets = [r for r in rows if r["met"] is not None]
	missed = [r for r in targets if r["met"] is False]
	print(f"{len(targets) - len(missed)} of {len(targets)} targets met ({time.monotonic() - started:.0f} s)")
	for r in missed:
		print(f"MISSED: {r['benchmark']}: {r['ratio']:.2f}x, target {r['target']}")
	for name in failures:
		print(f"FAILED: {name} raised an error (traceback above)")
	return 1 if failures else 0


if __name__ == "__main__":
	sys.exit(main())

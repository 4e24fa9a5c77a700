"""Helpers for tests that look at the database: from outside the test's own transaction, or at the
statements the code under test runs."""

import contextlib
from collections.abc import Iterator

import frappe


def read_committed(query: str, values: tuple | dict = ()) -> list[tuple]:
	"""Run a read on a fresh connection of its own: it sees what other connections committed, and
	holds no lock that the code under test (a server, a worker) could wait on."""
	from frappe.database import get_db

	conf = frappe.local.conf
	db = get_db(
		host=conf.db_host,
		port=conf.db_port,
		user=conf.db_user or conf.db_name,
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)
	try:
		db.connect()
		return db.sql(query, values, as_list=True)
	finally:
		db.close()


@contextlib.contextmanager
def statements_run() -> Iterator[list[str]]:
	"""The SQL statements run inside the block, lower-cased."""
	statements: list[str] = []
	real_sql = frappe.db.sql

	def recording_sql(query, *args, **kwargs):
		statements.append(str(query).strip().lower())
		return real_sql(query, *args, **kwargs)

	frappe.db.sql = recording_sql
	try:
		yield statements
	finally:
		del frappe.db.sql  # the instance attribute: back to the class's method

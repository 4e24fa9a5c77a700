"""Fixtures of the document engine's tests."""

import pytest

from tests.factories import HubResourceFactory


@pytest.fixture
def exposed_items():
	"""The test Item DocType exposed through the API, with its default Hub Resource."""
	return HubResourceFactory()

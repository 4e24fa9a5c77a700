"""Fixtures of the outbound-webhook tests: a receiver, a subscription to it, an Integration Manager."""

import pytest

from integration_hub.security.roles import INTEGRATION_MANAGER
from tests.events.support import Receiver
from tests.factories import (
	HubSubscriptionFactory,
	UserFactory,
)


@pytest.fixture
def receiver():
	endpoint = Receiver().start()
	yield endpoint
	endpoint.stop()


@pytest.fixture
def subscription(receiver):
	return HubSubscriptionFactory(endpoint_url=receiver.url)


@pytest.fixture
def integration_manager():
	return UserFactory(roles=[INTEGRATION_MANAGER])

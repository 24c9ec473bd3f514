"""Root fixtures: fake credentials and region, the functions' environment from serverless.yml,
and moto-backed tables built from the same serverless.yml resources that deploy."""

from __future__ import annotations

import os
import secrets

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # botocore 1.44 would otherwise target an account-specific host moto does not answer.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "false",
    }
)

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import config

for key, value in config.environment().items():
    os.environ.setdefault(key, value)
# As `make run` does: a random page-token key per run (the local stacks the tests start inherit it,
# so tests can sign cursors of their own).
os.environ.setdefault("PAGINATION_SECRET", secrets.token_urlsafe(32))
os.environ["DYNAMODB_ENDPOINT"] = ""
# The open API whatever the shell says; tests/functions/test_auth.py turns authentication on itself.
os.environ["AUTH"] = "off"


def reset_process_caches() -> None:
    """What a fresh Lambda process would not have: cached clients, settings and managers."""
    from shared import idempotency
    from shared.config import get_settings
    from shared.managers import events, promotion, reconcile, registrations, users, waitlist
    from shared.repositories.clients import session
    from shared.repositories.dynamo import get_client
    from shared.repositories.notifications import get_events_client

    for cached in (
        get_settings,
        get_client,
        events.default,
        promotion.default,
        reconcile.default,
        registrations.default,
        users.default,
        waitlist.default,
        idempotency.persistence_layer,
        get_events_client,
        session,
    ):
        cached.cache_clear()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB with every table of serverless.yml, fresh for each test."""
    with mock_aws():
        reset_process_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        config.create_tables(client)
        config.create_event_buses(boto3.client("events", region_name="us-east-1"))
        yield client
    reset_process_caches()

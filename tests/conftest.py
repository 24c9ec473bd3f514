"""Root fixtures: fake credentials and region, the functions' environment from serverless.yml,
and moto-backed tables built from the same serverless.yml resources that deploy."""

from __future__ import annotations

import os
import secrets

from local import config
from local.config import FAKE_AWS

os.environ.update(
    {
        **FAKE_AWS,
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "false",
    }
)

# Before any project module is imported (one may read the settings as it loads, and they are cached).
# As `make run` does: a random page-token key per run (the local stacks the tests start inherit it,
# so tests can sign cursors of their own).
os.environ.update(
    {
        key: value
        for key, value in {**config.environment(), "PAGINATION_SECRET": secrets.token_urlsafe(32)}.items()
        if key not in os.environ
    }
)

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import limits
from tests.helpers import reset_process_caches

# DYNAMODB_LIMITS=on (or page_bytes=…,conflict_rate=…) runs every in-process moto test in AWS limits
# mode too (the embedded servers read it themselves): how to find code that assumes one page.
if (from_environment := limits.from_environment()) is not None:
    limits.enable(from_environment)

# The embedded DynamoDB server and its fixtures, for tests/concurrency and the functions tests that
# need a real server process (a race over HTTP, the reconcile CLI).
pytest_plugins = ["tests.dynamodb_server"]

os.environ["DYNAMODB_ENDPOINT"] = ""
# The open API whatever the shell says; tests/functions/test_auth.py turns authentication on itself.
os.environ["AUTH"] = "off"


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

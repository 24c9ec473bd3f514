from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import config
from local.dynamodb import install_fast_transactions
from tests.builders import ApiClient
from tests.helpers import reset_process_caches


@pytest.fixture(scope="module")
def api() -> Iterator[ApiClient]:
    """One moto DynamoDB for the module: every Hypothesis example uses fresh, unique ids. The tables
    grow to thousands of items, where moto's stock transactions (a deep copy per call) crawl."""
    install_fast_transactions()
    with mock_aws():
        reset_process_caches()
        config.create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        yield ApiClient()
    reset_process_caches()


@pytest.fixture(scope="module")
def client(api: ApiClient) -> Any:
    from shared.repositories.dynamo import get_client

    return get_client()

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shared.observability import logger
from tests.builders import ApiClient


@pytest.fixture
def api(dynamodb: Any) -> ApiClient:
    return ApiClient()


@pytest.fixture
def fast_transactions() -> None:
    """moto's stock TransactWriteItems deep-copies every table it touches: hundreds or thousands of
    items make each call crawl. The embedded server's version has the same semantics without the
    copy (installed for the rest of the process)."""
    from local.dynamodb import install_fast_transactions

    install_fast_transactions()


@pytest.fixture
def calls(api: ApiClient) -> list[str]:
    """The DynamoDB operations the code under test sends, in order."""
    from shared.repositories.dynamo import get_client

    recorded: list[str] = []
    get_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: recorded.append(model.name), unique_id="count-calls"
    )
    return recorded


@pytest.fixture
def streams(api: ApiClient) -> Any:
    """The moto DynamoDB Streams client beside the tables `api` writes to."""
    return boto3.client("dynamodbstreams", region_name="us-east-1")


@pytest.fixture
def info_logs() -> Iterator[io.StringIO]:
    """The Powertools logger's JSON lines, as CloudWatch would receive them."""
    previous = logger.log_level
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel("INFO")
    yield buffer
    logger.removeHandler(handler)  # type: ignore[attr-defined]  # Powertools' Logger forwards it to logging
    logger.setLevel(previous)

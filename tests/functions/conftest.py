from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shared.observability import logger
from tests.builders import ApiClient


@pytest.fixture
def api(dynamodb: Any) -> ApiClient:
    return ApiClient()


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
    logger.removeHandler(handler)
    logger.setLevel(previous)

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import ApiClient


@pytest.fixture
def api(dynamodb: Any) -> ApiClient:
    return ApiClient()

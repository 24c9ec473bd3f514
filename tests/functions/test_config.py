"""A deployed function whose environment lacks a table name answers its first call with a 500 and
logs why, naming the variable, instead of reading or writing the dev stage's table."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from functions.events import get
from tests.builders import LambdaContext, api_event
from tests.conftest import reset_process_caches


@pytest.fixture
def without_events_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EVENTS_TABLE")
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "")
    reset_process_caches()
    yield
    monkeypatch.undo()
    reset_process_caches()


def test_missing_table_name_fails_the_first_call_clearly(without_events_table: None, info_logs: io.StringIO) -> None:
    # When a deployed GET /events/{eventId} runs without EVENTS_TABLE
    response = get.lambda_handler(
        api_event("GET", "/events/e-1", resource="/events/{eventId}", path_parameters={"eventId": "e-1"}),
        LambdaContext(),
    )
    # Then it answers 500 (the contract's body) and the log names the missing variable
    assert response["statusCode"] == 500
    assert "EVENTS_TABLE is not set" in info_logs.getvalue()
    assert "-dev-events" not in info_logs.getvalue()

"""Fixtures of the integration tests: one local stack per session (tests/integration/stack.py
starts it), with its startup and stop timings shown at the end of the run."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.stack import TIMINGS, LocalStack, describe, start_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack") / "local-run.log")
    TIMINGS["startup to /health 200 (s)"] = stack.startup_seconds
    try:
        yield stack
    finally:
        started = time.monotonic()
        stack.stop(signal.SIGTERM)
        TIMINGS["stop on SIGTERM (s)"] = time.monotonic() - started
        left = stack.leftovers()
        stack.kill_leftovers()
        assert not left, f"processes left after stopping local.run:\n{describe(left)}"


@pytest.fixture
def api(local_stack: LocalStack) -> LocalStack:
    return local_stack


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("local stack timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.2f}")

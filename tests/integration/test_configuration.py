"""README's configuration table, as `make run` honours it: the variables serverless.yml takes from
stage parameters (MAX_BODY_BYTES, PAGINATION_SECRET, POWERTOOLS_LOG_LEVEL) win when set in the
environment, STAGE names the tables, STARTUP_TIMEOUT bounds the start, and LOCAL_CONCURRENCY bounds
the processes of one function."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests

from tests.integration.stack import ROOT, LocalStack, free_ports, marked_processes, start_stack

pytestmark = pytest.mark.integration

STAGE = "cfgtest"


@pytest.fixture(scope="module")
def dynamodb_port() -> int:
    return free_ports(1)[0]


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory, dynamodb_port: int) -> Iterator[LocalStack]:
    stack = start_stack(
        tmp_path_factory.mktemp("configured") / "local-run.log",
        DYNAMODB_PORT=str(dynamodb_port),
        STAGE=STAGE,
        MAX_BODY_BYTES="100",
        PAGINATION_SECRET="another-secret-of-at-least-32-bytes",
        POWERTOOLS_LOG_LEVEL="ERROR",
        LOCAL_CONCURRENCY="1",
    )
    try:
        yield stack
    finally:
        stack.stop(signal.SIGTERM)
        stack.kill_leftovers()


def create_events(api: LocalStack, count: int) -> None:
    for _ in range(count):
        body = {"title": "Config", "date": "2026-12-01", "location": "Hall", "organizer": "Org"}
        assert api.post("/events", json=body).status_code == 201


def next_token(api: LocalStack) -> str:
    create_events(api, 2)
    response = api.get("/events?limit=1")
    assert response.status_code == 200, response.text
    return response.headers["X-Next-Token"]


def test_max_body_bytes(configured: LocalStack) -> None:
    small = configured.post("/users", json={"name": "Ada"})
    large = configured.post("/users", json={"name": "A" * 150})  # a 170-byte body

    assert small.status_code == 201, small.text
    assert large.status_code == 413, large.text
    assert large.json() == {"detail": "Request body exceeds 100 bytes"}


def test_pagination_secret(configured: LocalStack, api: LocalStack) -> None:
    own, default = next_token(configured), next_token(api)

    assert configured.get(f"/events?limit=1&nextToken={own}").status_code == 200
    assert configured.get(f"/events?limit=1&nextToken={default}").status_code == 400
    assert api.get(f"/events?limit=1&nextToken={own}").status_code == 400


def test_stage_names_the_tables(configured: LocalStack, dynamodb_port: int) -> None:
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{dynamodb_port}", region_name="us-east-1")
    tables = client.list_tables()["TableNames"]

    assert tables and all(name.startswith(f"event-registrations-{STAGE}-") for name in tables), tables
    assert f"stage {STAGE}" in configured.log_path.read_text(errors="replace")


def test_log_level(configured: LocalStack, api: LocalStack) -> None:
    # The same action logs an INFO line on the default stack and nothing at ERROR.
    for stack in (configured, api):
        assert stack.post("/users", json={"userId": f"log-{uuid.uuid4().hex[:8]}", "name": "Ada"}).status_code == 201
    deadline = time.monotonic() + 5
    while '"message":"user created"' not in api.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, api.log_tail()
        time.sleep(0.1)

    assert '"message":"user created"' not in configured.log_path.read_text(errors="replace")


def test_startup_timeout(tmp_path: Path) -> None:
    port, lambda_port, dynamodb_port = free_ports(3)
    env = {
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "PORT": str(port),
        "LAMBDA_PORT": str(lambda_port),
        "DYNAMODB_PORT": str(dynamodb_port),
        "STARTUP_TIMEOUT": "1",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    )

    assert result.returncode == 1, result.stdout.decode()
    assert f"http://127.0.0.1:{port}/health did not answer 200 within 1 s" in result.stdout.decode()
    assert time.monotonic() - started < 30


def function_processes(stack: LocalStack, handler: str) -> list[int]:
    """The Python processes serverless-offline runs `handler` in (`python3 -u …/invoke.py <handler> …`)."""
    found = []
    for pid in marked_processes(stack.marker):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if Path(argv[0].decode()).name.startswith("python") and handler.encode() in argv:
            found.append(pid)
    return found


def test_local_concurrency(configured: LocalStack) -> None:
    # With LOCAL_CONCURRENCY=1, ten requests at once to one function are queued through one warm
    # process instead of starting ten (serverless-offline's own behaviour)
    start = threading.Barrier(10)

    def health(_: int) -> int:
        start.wait()
        return requests.get(configured.url("/health"), timeout=60).status_code

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(health, range(10))) == [200] * 10
    assert len(function_processes(configured, "functions/health/get")) == 1

"""SnapStart hooks (shared/snapstart.py): registered only when Lambda initialises for a snapshot;
before it, the DynamoDB client is created; after each restore, what restored copies must not share
is refreshed (random state, settings and secrets, client connections)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import snapshot_restore_py

from shared import snapstart

ROOT = Path(__file__).resolve().parents[2]

# A Lambda init for a snapshot, then the runtime's hooks: what the function module registered, run.
PROBE = """
import json, sys
import snapshot_restore_py
import functions.events.get
dynamo = sys.modules["shared.repositories.dynamo"]
before = dynamo.get_client.cache_info().currsize
for hook, args, kwargs in snapshot_restore_py.get_before_snapshot():
    hook(*args, **kwargs)
print(json.dumps({
    "hooks": [h.__name__ for h, _, _ in snapshot_restore_py.get_before_snapshot() + snapshot_restore_py.get_after_restore()],
    "client_before": before,
    "client_after": dynamo.get_client.cache_info().currsize,
}))
"""


def _probe(initialization: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_LAMBDA_INITIALIZATION_TYPE": initialization}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_a_snapshot_init_registers_the_hooks_and_creates_the_client_before_the_snapshot() -> None:
    state = _probe("snap-start")
    assert state["hooks"] == ["before_snapshot", "after_restore"]
    assert (state["client_before"], state["client_after"]) == (0, 1)


def test_an_on_demand_init_registers_nothing() -> None:
    state = _probe("on-demand")
    assert state["hooks"] == []
    assert state["client_after"] == 0


def test_restored_copies_draw_different_random_numbers() -> None:
    # Given two copies restored from the same snapshot (the same generator state)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        snapstart.after_restore()
        draws.append([random.random() for _ in range(4)])
    # Then after the hook each draws its own numbers (the backoff jitter must not move in lockstep)
    assert draws[0] != draws[1]


def test_restore_reads_settings_again_and_drops_connections_from_before_the_snapshot(
    dynamodb: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.config import get_settings
    from shared.repositories.dynamo import get_client

    client = get_client()
    client.list_tables()  # a connection pool exists, as it would if init had made a call
    manager = client._endpoint.http_session._manager
    manager.connection_from_url("https://dynamodb.us-east-1.amazonaws.com")
    assert len(manager.pools) > 0
    monkeypatch.setenv("PAGINATION_SECRET", "rotated-after-the-snapshot")
    assert get_settings().pagination_secret != b"rotated-after-the-snapshot"
    # When the environment is restored
    snapstart.after_restore()
    # Then the pools are empty (new connections on the next call), the settings are read again,
    # and the client still works
    assert len(manager.pools) == 0
    assert get_settings().pagination_secret == b"rotated-after-the-snapshot"
    assert "TableNames" in get_client().list_tables()


def test_registration_is_a_no_op_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    snapstart.register.cache_clear()
    registered = len(snapshot_restore_py.get_after_restore())
    assert snapstart.register() is False
    assert len(snapshot_restore_py.get_after_restore()) == registered

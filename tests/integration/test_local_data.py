"""`make run` keeps its data (local/data.py): tables and items survive a clean restart, a promotion
pending when the stack crashed happens once after the restart (neither lost nor replayed), and
`make reset` empties it. One story, five stacks one after another on one LOCAL_DATA_DIR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from local import config
from local.data import SNAPSHOT_NAME
from tests.helpers import uid
from tests.integration.stack import ROOT, LocalStack, free_ports, start_stack

pytestmark = pytest.mark.integration

SNAPSHOT_INTERVAL = 1.0
PROMOTION_DEADLINE = 20.0
EVENT = {
    "title": "Launch party",
    "date": "2026-12-01",
    "location": "Hall A",
    "organizer": "Ada",
    "capacity": 1,
    "waitlistEnabled": True,
}

# The manager the unregister route calls, run beside the stack against its DynamoDB: the only way to
# remove a seat while serverless-offline (and so the stream reader) is frozen.
UNREGISTER = """
import sys
from shared.managers import registrations
print(registrations.default().unregister_user(sys.argv[1], sys.argv[2]))
"""


def start(data_dir: Path, name: str, dynamodb_port: int | None = None) -> LocalStack:
    (port,) = free_ports(1)
    return start_stack(
        data_dir.parent / f"{name}.log",
        LOCAL_DATA_DIR=str(data_dir),
        SNAPSHOT_INTERVAL=str(SNAPSHOT_INTERVAL),
        DYNAMODB_PORT=str(dynamodb_port or port),
    )


def stop_cleanly(stack: LocalStack) -> None:
    assert stack.stop(signal.SIGTERM) == 0, stack.log_tail()
    assert not stack.leftovers()


def state(stack: LocalStack, event_id: str, user_ids: list[str]) -> dict[str, Any]:
    """Everything the API shows about one event and its users (409-free reads only)."""
    paths = [f"/events/{event_id}", f"/events/{event_id}/registrations", f"/events/{event_id}/waitlist"]
    paths += [f"/users/{user_id}" for user_id in user_ids]
    paths += [f"/users/{user_id}/registrations" for user_id in user_ids]
    seen = {}
    for path in paths:
        response = stack.get(path)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    return seen


def promoted_lines(stack: LocalStack) -> int:
    return sum('"message":"Promoted"' in line.replace(" ", "") for line in stack.log_path.read_text().splitlines())


def offline_process(stack: LocalStack) -> int:
    for pid in stack.leftovers():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(part.endswith(b"serverless.js") for part in cmdline) and b"offline" in cmdline:
            return pid
    raise AssertionError("no serverless-offline process")


def snapshot_written_after(snapshot: Path, moment: float, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if snapshot.exists() and snapshot.stat().st_mtime > moment:
            return
        time.sleep(0.1)
    raise AssertionError(f"no snapshot written within {timeout} s")


def wait_for_confirmed(stack: LocalStack, event_id: str, user_id: str) -> list[str]:
    deadline = time.monotonic() + PROMOTION_DEADLINE
    confirmed: list[str] = []
    while time.monotonic() < deadline:
        confirmed = [item["userId"] for item in stack.get(f"/events/{event_id}/registrations").json()]
        if user_id in confirmed:
            break
        time.sleep(0.1)
    return confirmed


def test_data_survives_restarts_a_pending_promotion_happens_once_and_reset_empties(tmp_path: Path) -> None:
    data_dir = tmp_path / "local-data"
    event_id, ada, bob = uid("evt"), uid("ada"), uid("bob")

    # Given a stack with an event of one seat, Ada confirmed and Bob waiting
    first = start(data_dir, "first")
    try:
        assert "none yet, starting empty" in first.log_path.read_text()
        assert first.post("/events", json={**EVENT, "eventId": event_id}).status_code == 201
        for user_id in (ada, bob):
            assert first.post("/users", json={"userId": user_id, "name": user_id}).status_code == 201
            assert first.post(f"/events/{event_id}/registrations", json={"userId": user_id}).status_code == 201
        before = state(first, event_id, [ada, bob])
    finally:
        # When it stops cleanly
        stop_cleanly(first)
    assert (data_dir / SNAPSHOT_NAME).exists()

    # Then a new stack shows the same data, and says where it lives and what a crash loses
    (dynamodb_port,) = free_ports(1)
    second = start(data_dir, "second", dynamodb_port)
    try:
        log = second.log_path.read_text()
        assert f"Data: {data_dir / SNAPSHOT_NAME} (restored 5 tables, " in log
        assert f"a crash loses at most the last {SNAPSHOT_INTERVAL:g} s" in log
        assert state(second, event_id, [ada, bob]) == before
        assert before[f"/events/{event_id}"]["registeredCount"] == 1

        # When Ada's seat is freed while the stream reader is frozen, a snapshot is taken, and the
        # stack crashes (SIGKILL) before any promotion ran
        offline = offline_process(second)
        os.kill(offline, signal.SIGSTOP)
        freed_at = time.time()
        environment = {
            **os.environ,
            **config.environment(),
            "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{dynamodb_port}",
            **config.FAKE_AWS,
        }
        result = subprocess.run(
            [sys.executable, "-c", UNREGISTER, event_id, ada],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.stdout.strip() == "confirmed", result.stderr
        snapshot_written_after(data_dir / SNAPSHOT_NAME, freed_at)
    finally:
        second.stop(signal.SIGKILL)
        second.kill_leftovers()
    assert promoted_lines(second) == 0

    # Then the restarted stack promotes Bob: the promotion was pending, not lost
    third = start(data_dir, "third")
    try:
        assert wait_for_confirmed(third, event_id, bob) == [bob], third.log_tail()
        time.sleep(2)  # a duplicate delivery would have come by now (the reader polls every 0.25 s)
        assert promoted_lines(third) == 1, third.log_tail()
        after = state(third, event_id, [bob])
    finally:
        stop_cleanly(third)
    assert after[f"/events/{event_id}"]["registeredCount"] == 1
    assert after[f"/events/{event_id}"]["waitlistCount"] == 0
    assert after[f"/events/{event_id}/waitlist"] == []

    # And a fourth start replays nothing: no promotion runs again, the data is as the third left it
    fourth = start(data_dir, "fourth")
    try:
        time.sleep(3)
        assert promoted_lines(fourth) == 0, fourth.log_tail()
        assert state(fourth, event_id, [bob]) == after
    finally:
        stop_cleanly(fourth)

    # When `make reset` runs
    result = subprocess.run(
        ["make", "--no-print-directory", "reset"],
        cwd=ROOT,
        env={**os.environ, "LOCAL_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "the next `make run` starts empty" in result.stdout
    assert not data_dir.exists()

    # Then the next stack starts empty
    fifth = start(data_dir, "after-reset")
    try:
        assert "none yet, starting empty" in fifth.log_path.read_text()
        assert fifth.get(f"/events/{event_id}").status_code == 404
        assert fifth.get("/events").json() == []
    finally:
        stop_cleanly(fifth)

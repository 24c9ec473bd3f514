"""The local stack (`python -m local.run`, i.e. `make run`) as a subprocess on free ports, driven
over HTTP with `requests`. Every process the stack starts inherits a unique marker in its
environment, so the tests can tell whether any of them outlived a stop. Plain functions and
classes: the integration tests' fixtures (conftest.py) and bench/load.py build on them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from local import config
from local.config import ROOT
from local.ports import free_ports
from tests.helpers import uid

STARTUP_TIMEOUT = 90.0
MARKER_VARIABLE = "LOCAL_STACK_TEST_MARKER"

# Shown at the end of the run (pytest_terminal_summary in conftest.py).
TIMINGS: dict[str, float] = {}


def marked_processes(marker: str) -> list[int]:
    """Live processes (zombies excluded) whose environment carries `marker`."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = "?"
        lines.append(f"{pid}: {cmdline.strip()}")
    return "\n".join(lines)


@dataclass
class LocalStack:
    process: subprocess.Popen[bytes]
    base_url: str
    marker: str
    log_path: Path
    startup_seconds: float = 0.0
    dynamodb_endpoint: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 20)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def leftovers(self) -> list[int]:
        return marked_processes(self.marker)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signals local.run's process group (as a terminal's Ctrl-C does), waits for it, and
        gives every marked process up to 5 s more to disappear. Returns local.run's exit status."""
        self.session.close()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            status = self.process.wait()
        deadline = time.monotonic() + 5
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        return status

    def kill_leftovers(self) -> None:
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start_stack(log_path: Path, **env_overrides: str) -> LocalStack:
    """Starts `python -m local.run` on free ports and waits (up to 90 s) for /health."""
    port, lambda_port, dynamodb_port = free_ports(3)
    marker = uuid.uuid4().hex
    env = dict(os.environ)
    # The root conftest sets the functions' environment for the in-process tests (moto, log level,
    # …); the stack gets what `make run` gives a user, where any of these set would win.
    for name in config.environment():
        env.pop(name, None)
    env.update(
        {
            "PORT": str(port),
            "LAMBDA_PORT": str(lambda_port),
            "DYNAMODB_PORT": str(dynamodb_port),
            MARKER_VARIABLE: marker,
            "PYTHONUNBUFFERED": "1",
            # Never the developer's .local-data: each stack keeps its data beside its log.
            "LOCAL_DATA_DIR": str(log_path.with_name(f"{log_path.stem}-data")),
        }
    )
    env.update(env_overrides)
    log_file = log_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    log_file.close()
    stack = LocalStack(process=process, base_url=f"http://127.0.0.1:{port}", marker=marker, log_path=log_path)
    stack.dynamodb_endpoint = env.get("DYNAMODB_ENDPOINT") or f"http://127.0.0.1:{dynamodb_port}"
    deadline = started + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            stack.kill_leftovers()
            pytest.fail(f"local.run exited with {process.returncode} before /health answered:\n{stack.log_tail()}")
        try:
            if requests.get(stack.url("/health"), timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stack.stop(signal.SIGKILL)
            stack.kill_leftovers()
            pytest.fail(f"/health did not answer 200 within {STARTUP_TIMEOUT:.0f} s:\n{stack.log_tail()}")
        time.sleep(0.2)
    stack.startup_seconds = time.monotonic() - started
    return stack


def create_event(api: LocalStack, **fields: object) -> dict:
    """Creates an event over HTTP (unique id unless given) and returns its body."""
    body = {
        "eventId": uid("evt"),
        "title": "Integration night",
        "date": "2031-05-04",
        "location": "Room 1",
        "organizer": "QA",
        **fields,
    }
    response = api.post("/events", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_user(api: LocalStack, name: str = "Ada") -> str:
    user_id = uid("usr")
    response = api.post("/users", json={"userId": user_id, "name": name})
    assert response.status_code == 201, response.text
    return user_id

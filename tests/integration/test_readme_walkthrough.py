"""README's "Try it" walkthrough, executed: a fresh `make run`, `make seed` (twice: the second run
changes nothing), then every step of the README's block in one bash session, each answer checked
against the `# →` lines beside it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.stack import ROOT, LocalStack, start_stack
from tests.readme import README_URL, walkthrough

pytestmark = pytest.mark.integration

MARK = "@@readme-step-done@@"
# The README's `sleep` is for a person's machine; on a loaded test machine the read that follows it
# may be repeated until it shows what the README promises.
SETTLE_SECONDS = 20.0


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("readme") / "local-run.log")
    try:
        yield stack
    finally:
        stack.stop(signal.SIGTERM)
        stack.kill_leftovers()


class Shell:
    """One bash session, as a person pasting the steps one after another."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )

    def run(self, command: str) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{command}\nprintf '\\n{MARK}\\n'\n")
        self.process.stdin.flush()
        lines: list[str] = []
        for line in self.process.stdout:
            if line.rstrip("\n") == MARK:
                return "".join(lines).strip()
            lines.append(line)
        raise AssertionError(f"bash exited during: {command}")

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=10)


def seed(stack: LocalStack) -> str:
    env = {"PATH": "/usr/bin:/bin", "PORT": stack.base_url.rsplit(":", 1)[1]}
    result = subprocess.run(
        [sys.executable, "-m", "local.seed"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def is_read(command: str) -> bool:
    return " -X " not in command


def test_seed_then_walkthrough_as_written(fresh: LocalStack) -> None:
    # make seed, on an empty stack, then again: nothing new the second time
    first = seed(fresh)
    snapshot = {path: fresh.get(path).json() for path in SEEDED_VIEWS}
    second = seed(fresh)
    assert "Done: 16 created, 0 already there." in first, first
    assert "Done: 0 created, 16 already there." in second, second
    assert {path: fresh.get(path).json() for path in SEEDED_VIEWS} == snapshot
    assert_seeded(snapshot)

    # the walkthrough, step by step, pasted into one shell
    steps = walkthrough()
    shell = Shell()
    outputs: list[str] = []
    try:
        for step in steps:
            command = step.command.replace(README_URL, fresh.base_url)
            waits = command.startswith("sleep ")
            if waits:
                pause, _, command = command.partition("\n")
                assert shell.run(pause) == ""
            output = shell.run(command)
            deadline = time.monotonic() + SETTLE_SECONDS
            while waits and is_read(command) and not step.matches(output) and time.monotonic() < deadline:
                time.sleep(0.5)
                output = shell.run(command)
            if step.expected:
                assert step.matches(output), (
                    f"README step:\n{step.command}\npromises:\n{step.expected}\nanswered:\n{output}"
                )
            else:
                assert output == "", f"README step without a `# →` line printed:\n{step.command}\n{output}"
            outputs.append(output)
    finally:
        shell.close()

    # The replay is the first answer itself, not merely one of the same shape.
    keyed = [n for n, step in enumerate(steps) if "Idempotency-Key:" in step.command]
    assert len(keyed) == 2, keyed
    assert outputs[keyed[0]].splitlines()[-1] == outputs[keyed[1]].splitlines()[-1]


SEEDED_VIEWS = [
    "/events/demo-workshop",
    "/events/demo-workshop/registrations",
    "/events/demo-workshop/waitlist",
    "/events/demo-meetup",
    "/events/demo-meetup/registrations",
    "/events/demo-conference",
    "/users/demo-ada/registrations",
]


def assert_seeded(views: dict[str, object]) -> None:
    workshop = views["/events/demo-workshop"]
    assert isinstance(workshop, dict)
    assert (workshop["capacity"], workshop["registeredCount"], workshop["waitlistCount"]) == (3, 3, 2)
    waitlist = views["/events/demo-workshop/waitlist"]
    assert isinstance(waitlist, list)
    assert [(e["userId"], e["position"]) for e in waitlist] == [("demo-katherine", 1), ("demo-linus", 2)]
    meetup = views["/events/demo-meetup"]
    assert isinstance(meetup, dict) and meetup.get("capacity") is None and meetup["registeredCount"] == 2
    conference = views["/events/demo-conference"]
    assert isinstance(conference, dict) and conference["status"] == "draft"
    assert json.dumps(views["/users/demo-ada/registrations"]).count('"eventId"') == 2

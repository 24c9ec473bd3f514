"""`make fuzz`: schemathesis against the local stack, as an outsider would run it.

Starts `python -m local.run` on free ports with an empty store of its own, runs

    schemathesis run openapi.json --url http://127.0.0.1:<port> --checks all
        --phases examples,coverage,fuzzing,stateful --seed <seed> --max-examples <n>

from the repository root (so schemathesis.toml applies: the one documented 400 of the lists, and a
"missing test data" warning fails the run), then stops the stack. Exits with schemathesis' status.

The stack runs with `AUTH=on` (its own throwaway signing key) and schemathesis sends the token of a
caller in `organizers` and `admins`, so every operation is reachable and the document's security
is checked too: schemathesis also sends requests without and with a broken token and expects the
documented 401.

    FUZZ_SEED     the seed (default: a random one, printed, so a failing run can be replayed)
    FUZZ_EXAMPLES test cases per operation and phase (default 100)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from local.config import ROOT
from local.ports import free_ports

PHASES = ("examples", "coverage", "fuzzing", "stateful")
STARTUP_TIMEOUT = 90.0


FUZZ_USER = "fuzz-admin"
FUZZ_GROUPS = ("organizers", "admins")


def schemathesis_command(base_url: str, seed: int, max_examples: int, token: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(ROOT / "openapi.json"),
        "--url",
        base_url,
        "--checks",
        "all",
        "--phases",
        ",".join(PHASES),
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        # One worker: schemathesis runs workers as threads, and on CPython 3.11 two threads parsing
        # source at once (Hypothesis describing a filter's lambda) can fail with "SystemError: AST
        # constructor recursion depth mismatch" (python/cpython#106905), a crash of the tool that
        # reads as a Runtime Error of the run.
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {token}",
    ]


@contextmanager
def local_stack() -> Iterator[tuple[str, str]]:
    """`AUTH=on python -m local.run` on free ports, in its own process group; yields its base URL
    and a token of a caller allowed everything (an organizer and admin)."""
    from local import auth

    port, lambda_port, dynamodb_port = free_ports(3)
    # Its own empty store, thrown away afterwards: the fuzzer's data never mixes with `make run`'s.
    data_dir = tempfile.TemporaryDirectory(prefix="fuzz-data-")
    keys = auth.ensure_keys(Path(data_dir.name) / "auth")
    token = auth.issue_token(FUZZ_USER, FUZZ_GROUPS, 3600, private_key=auth.load_private_key(keys))
    env = {
        **os.environ,
        "PORT": str(port),
        "LAMBDA_PORT": str(lambda_port),
        "DYNAMODB_PORT": str(dynamodb_port),
        "LOCAL_DATA_DIR": data_dir.name,
        "AUTH": "on",
        "LOCAL_AUTH_DIR": str(keys),
    }
    env.pop("DYNAMODB_ENDPOINT", None)
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_healthy(base_url, process)
        yield base_url, token
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        data_dir.cleanup()


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local.run exited with {process.returncode}: run `make run` to see why")
        with (
            suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{base_url}/health", timeout=5) as response,  # noqa: S310 - loopback
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/health did not answer within {STARTUP_TIMEOUT:.0f} s")


def main() -> int:
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    max_examples = int(os.environ.get("FUZZ_EXAMPLES") or 100)
    print(f"[fuzz] seed {seed} (replay with FUZZ_SEED={seed}), {max_examples} cases per operation", flush=True)
    with local_stack() as (base_url, token):
        print(f"[fuzz] local stack on {base_url} (AUTH=on, as {FUZZ_USER})", flush=True)
        command = schemathesis_command(base_url, seed, max_examples, token)
        return subprocess.run(command, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

"""The local stack (`make run`): every route of serverless.yml on http://127.0.0.1:$PORT.

    DynamoDB   the embedded one (moto server, local/dynamodb.py) on 127.0.0.1:$DYNAMODB_PORT, in this
               process; or the one at $DYNAMODB_ENDPOINT when that is set. Tables come from
               serverless.yml and are created when missing.
    data       the embedded DynamoDB keeps its tables in $LOCAL_DATA_DIR (.local-data/): restored at
               start, saved every $SNAPSHOT_INTERVAL seconds and on a clean stop (local/data.py).
               `make reset` empties it.
    API        `osls offline start` (serverless-offline) in its own process group, running each
               function in a warm Python process of this virtualenv; serverless-offline-dynamodb-streams
               feeds the promotion function from the Registrations stream and the eventChanges
               function (capacity raises, deletions) from the Events stream.
    Auth       off by default: every route is open, and the start says so loudly. With AUTH=on the
               routes serverless.yml protects need `Authorization: Bearer <token>`, verified against
               a local signing key (local/auth.py; tokens from `make token USER=<id>`).

Ctrl-C (SIGINT) or SIGTERM stops all of it.

    PORT=3000 LAMBDA_PORT=3002 DYNAMODB_PORT=8000 AUTH=on python -m local.run

serverless.yml sets some of the functions' variables from stage parameters (MAX_BODY_BYTES from
`param:maxBodyBytes`, …), and serverless-offline lets those win over this environment; so each one
set here is passed on as `--param`: `MAX_BODY_BYTES=100 make run` does what it says.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import config
from local.data import CHECKPOINT_NAME, LocalData, UnreadableSnapshotError
from shared.api.pagination import MIN_SECRET_BYTES

ROOT = config.ROOT
OSLS = ROOT / "node_modules" / "osls" / "bin" / "serverless.js"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = float(os.environ.get("STARTUP_TIMEOUT", "60"))
STOP_TIMEOUT = 10.0

# Never real credentials: every endpoint here is local.
FAKE_AWS = config.FAKE_AWS


class StartupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str
    port: int
    lambda_port: int
    dynamodb_port: int
    dynamodb_endpoint: str | None
    stage_params: dict[str, str]  # {parameter: value}, from the environment
    data_dir: Path
    snapshot_interval: float
    auth: bool

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        auth = (env.get("AUTH") or "off").lower()
        if auth not in {"on", "off"}:
            raise StartupError(f"AUTH must be on or off, not {env.get('AUTH')!r}")
        return cls(
            stage=env.get("STAGE") or "dev",
            port=int(env.get("PORT") or 3000),
            lambda_port=int(env.get("LAMBDA_PORT") or 3002),
            dynamodb_port=int(env.get("DYNAMODB_PORT") or 8000),
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
            stage_params={
                parameter: env[variable]
                for variable, parameter in config.parameter_variables().items()
                if env.get(variable)
            },
            data_dir=ROOT / (env.get("LOCAL_DATA_DIR") or ".local-data"),
            snapshot_interval=float(env.get("SNAPSHOT_INTERVAL") or 5),
            auth=auth == "on",
        )

    @property
    def checkpoint_file(self) -> Path:
        """Where serverless-offline-dynamodb-streams keeps its position, next to the data."""
        return self.data_dir / CHECKPOINT_NAME


def log(message: str) -> None:
    print(f"[local.run] {message}", flush=True)


# --- DynamoDB ----------------------------------------------------------------------------------


def keep_stream_readers_on_live_tables() -> None:
    """Guards against a moto bug that stops promotion after the first full event.

    Stock moto (5.2) rolls back a cancelled TransactWriteItems by putting deep copies of the tables
    it touched in place of the originals (moto/dynamodb/models/__init__.py, transact_write_items).
    An open shard iterator keeps a reference to the original table's stream shard, orphaned from
    then on: the stream reader polls forever and never sees another record. A registration that
    finds the event full cancels such a transaction, so the promotion function would never run.
    Any other table replacement would do the same, so each iterator is re-attached to its table's
    live shard (same stream label, same sequence numbers) on every read; a no-op when the tables
    were never replaced.
    """
    from moto.dynamodbstreams.models import ShardIterator

    if getattr(ShardIterator.get, "follows_live_shard", False):
        return
    original = ShardIterator.get

    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        table = self.stream_shard.table
        live = self.streams_backend.dynamodb.tables.get(table.name)
        if (
            live is not None
            and live.stream_shard is not None
            and live.stream_shard is not self.stream_shard
            and live.latest_stream_label == table.latest_stream_label
        ):
            self.stream_shard = live.stream_shard
        return original(self, limit)

    get.follows_live_shard = True  # type: ignore[attr-defined]
    ShardIterator.get = get  # type: ignore[method-assign]


def start_embedded_dynamodb(port: int) -> Any:
    from local.dynamodb import EmbeddedDynamoDB
    from local.limits import from_environment

    keep_stream_readers_on_live_tables()
    # werkzeug would print its own message and exit; say what to do instead.
    ensure_free(port, "DYNAMODB_PORT", ", or DYNAMODB_ENDPOINT to a running DynamoDB")
    try:
        return EmbeddedDynamoDB(HOST, port, from_environment()).start()
    except OSError as exc:
        raise StartupError(f"cannot start the embedded DynamoDB on {HOST}:{port} ({exc.strerror})") from exc


def create_tables(endpoint: str, stage: str, stopping: threading.Event) -> bool:
    """Creates the tables of serverless.yml that are missing; True when a table with a stream
    (Registrations, Events) is new. Waits up to 30 s for an external DynamoDB to answer."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=FAKE_AWS["AWS_REGION"],
        aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    streamed = {d["TableName"] for d in config.table_definitions(stage) if "StreamSpecification" in d}
    deadline = time.monotonic() + 30
    while True:
        try:
            existed = set(client.list_tables().get("TableNames", []))
            config.create_tables(client, stage)
            config.create_event_buses(
                boto3.client(
                    "events",
                    endpoint_url=endpoint,
                    region_name=FAKE_AWS["AWS_REGION"],
                    aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
                ),
                stage,
            )
            return not streamed <= existed
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() > deadline or stopping.is_set():
                raise StartupError(f"cannot create the tables at {endpoint}: {exc}") from exc
            stopping.wait(0.5)


def restore_data(data: LocalData, settings: Settings) -> LocalData:
    try:
        restored = data.restore()
    except UnreadableSnapshotError as exc:
        log(f"warning: {exc}; starting empty")
        restored = None
    where = data.snapshot.relative_to(ROOT) if data.snapshot.is_relative_to(ROOT) else data.snapshot
    state = f"restored {restored.tables} tables, {restored.items} items" if restored else "none yet, starting empty"
    log(
        f"Data: {where} ({state}); saved every {settings.snapshot_interval:g} s and on a clean stop, "
        f"so a crash loses at most the last {settings.snapshot_interval:g} s. `make reset` empties it."
    )
    return data


# --- serverless-offline ------------------------------------------------------------------------


def ensure_free(port: int, variable: str, hint: str = "") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As node and werkzeug do: connections in TIME_WAIT from a previous run do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            message = f"{HOST}:{port} is in use ({exc.strerror}): set {variable} to a free port{hint}"
            raise StartupError(message) from exc


def offline_environment(settings: Settings, endpoint: str) -> dict[str, str]:
    # serverless-offline runs the functions with the `python3` of an active virtualenv.
    venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else ROOT / ".venv"
    venv_bin = venv / "bin"
    env = dict(os.environ)
    env.update(FAKE_AWS)
    env.update(
        {
            "DYNAMODB_ENDPOINT": endpoint,
            "PORT": str(settings.port),
            "LAMBDA_PORT": str(settings.lambda_port),
            "STREAMS_CHECKPOINT_FILE": str(settings.checkpoint_file),
            "VIRTUAL_ENV": str(venv),
            "PATH": os.pathsep.join([str(venv_bin), env.get("PATH", "")]),
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
        }
    )
    # A page-token key for this run only (deployed stages read theirs from SSM): tokens from an
    # earlier run are refused, which is what an edited token gets too.
    env.setdefault("PAGINATION_SECRET", secrets.token_urlsafe(32))
    if len(env["PAGINATION_SECRET"].encode()) < MIN_SECRET_BYTES:
        # The functions would refuse to page with it (500 on every list): say so before starting.
        raise StartupError(f"PAGINATION_SECRET must be at least {MIN_SECRET_BYTES} bytes")
    env.pop("PYTHONHOME", None)
    # serverless-offline would hand this JSON to every function as its verified identity.
    env.pop("AUTHORIZER", None)
    if settings.auth:
        from local import auth

        env.update(
            {
                "LOCAL_AUTH_DIR": str(auth.ensure_keys()),
                "LOCAL_AUTH_ISSUER": auth.ISSUER,
                "LOCAL_AUTH_AUDIENCE": auth.AUDIENCE,
            }
        )
    env.setdefault("NODE_NO_WARNINGS", "1")  # silences the AWS SDK's "Node 22 soon" banner
    return env


def _die_with_parent() -> Any:
    """preexec_fn: SIGTERM for osls when this process dies, even by SIGKILL (Linux only)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def start_offline(settings: Settings, endpoint: str) -> subprocess.Popen[bytes]:
    node = shutil.which("node")
    if node is None:
        raise StartupError("node is not on PATH (Node 20+ is required)")
    if not OSLS.exists():
        raise StartupError(f"{OSLS.relative_to(ROOT)} is missing: run `make install`")
    return subprocess.Popen(
        [
            node,
            str(OSLS),
            "offline",
            "start",
            "--stage",
            settings.stage,
            *(f"--param={name}={value}" for name, value in settings.stage_params.items()),
            f"--param=auth={'on' if settings.auth else 'off'}",
        ],
        cwd=ROOT,
        env=offline_environment(settings, endpoint),
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped as a whole, never by a stray Ctrl-C
        preexec_fn=_die_with_parent(),  # only calls prctl
    )


def wait_until_healthy(url: str, offline: subprocess.Popen[bytes], stopping: threading.Event) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not stopping.is_set():
        if offline.poll() is not None:
            raise StartupError(f"serverless-offline exited with status {offline.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http://127.0.0.1 only
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise StartupError(f"{url} did not answer 200 within {STARTUP_TIMEOUT:.0f} s")
        stopping.wait(0.2)


def stop_offline(offline: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole process group (node and every function process), SIGKILL to whatever
    is left after STOP_TIMEOUT, and to stragglers whose leader already exited."""
    group = offline.pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        offline.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        log("serverless-offline did not stop in time: killing it")
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    offline.wait()


# --- main --------------------------------------------------------------------------------------


def announce_auth(settings: Settings) -> None:
    if settings.auth:
        log(
            "Authentication ON: protected routes need `Authorization: Bearer <token>`; "
            "get one with `make token USER=<id> [GROUPS=organizers,admins]`."
        )
        return
    bar = "!" * 78
    for line in (
        bar,
        "AUTHENTICATION IS OFF: every route is open to anyone, no token is checked and no",
        "permission applies. Fine for trying the API; `AUTH=on make run` enforces them.",
        bar,
    ):
        log(line)


def run(settings: Settings) -> int:
    stopping = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    started = time.monotonic()
    dynamodb = None
    data = None
    offline = None
    try:
        ensure_free(settings.port, "PORT")
        ensure_free(settings.lambda_port, "LAMBDA_PORT")
        if settings.dynamodb_endpoint:
            endpoint = settings.dynamodb_endpoint
            log(f"DynamoDB: {endpoint} (DYNAMODB_ENDPOINT)")
        else:
            dynamodb = start_embedded_dynamodb(settings.dynamodb_port)
            endpoint = dynamodb.endpoint
            log(f"DynamoDB: embedded (moto) on {endpoint}; dashboard {endpoint}/moto-api/")
            # Saved from on only once restored: an empty store must never overwrite the snapshot.
            data = restore_data(LocalData(settings.data_dir, dynamodb.locked), settings)
        fresh_stream = create_tables(endpoint, settings.stage, stopping)
        if data is None and fresh_stream:
            # Sequence numbers restart with a new stream: an old checkpoint would skip records.
            settings.checkpoint_file.unlink(missing_ok=True)
        if data is not None:
            data.save_every(settings.snapshot_interval, stopping, log)
        if stopping.is_set():
            return 0
        if settings.stage_params:
            log(f"stage parameters from the environment: {', '.join(sorted(settings.stage_params))}")
        offline = start_offline(settings, endpoint)
        base_url = f"http://{HOST}:{settings.port}"
        wait_until_healthy(f"{base_url}/health", offline, stopping)
        if stopping.is_set():
            return 0
        # The one line a newcomer needs, last and set apart from serverless-offline's route listing.
        print(flush=True)
        log(f'next: curl {base_url}/health, `make seed` for demo data, README.md "Try it"')
        log(
            f"API ready on {base_url} after {time.monotonic() - started:.1f} s "
            f"(DynamoDB {endpoint}, stage {settings.stage}). Ctrl-C stops it."
        )
        print(flush=True)
        while not stopping.wait(0.5):
            if offline.poll() is not None:
                log(f"serverless-offline exited with status {offline.returncode}")
                return offline.returncode or 1
        return 0
    except StartupError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not interrupt the clean-up.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if offline is not None:
            stop_offline(offline)
        if data is not None:
            # After serverless-offline: its last checkpoint goes into the snapshot too.
            data.save()
            log(f"data saved to {data.snapshot}")
        if dynamodb is not None:
            dynamodb.stop()
        if received:
            log(f"stopped ({signal.Signals(received[0]).name})")


def main() -> None:
    try:
        settings = Settings.from_env()
    except StartupError as exc:
        log(f"error: {exc}")
        sys.exit(1)
    sys.exit(run(settings))


if __name__ == "__main__":
    main()

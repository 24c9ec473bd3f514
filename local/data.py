"""The local stack's data on disk: the embedded DynamoDB's tables and the stream reader's position.

    .local-data/dynamodb.pickle          the snapshot: moto's tables (items, indexes, stream shards
                                         with their sequence numbers) and a copy of the checkpoint
    .local-data/streams-checkpoint.json  the live checkpoint of serverless-offline-dynamodb-streams:
                                         the last record of each stream its function finished

A snapshot is written every few seconds when something changed, and on a clean stop; it is
restored at start. moto keeps its tables as plain Python objects, so they are pickled as they are.

Stream positions: the plugin advances its checkpoint only after the stream's function finished a
batch, so the checkpoint never runs ahead of the data that batch wrote. Each snapshot reads the
checkpoint first and then copies the tables under the server's request lock: whatever the
checkpoint says was processed is in the copied data, and every record after it is in the copied
stream. A restore puts that checkpoint back in place of the live one (which may have moved on
before a crash, over writes the snapshot does not hold), so records after it are delivered again
and none is skipped; the stream functions are idempotent, so a record delivered again after a
crash promotes nobody twice and deletes nothing of a re-created event. A shard with no checkpoint
yet is read from its first record: none of its records was finished.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_NAME = "dynamodb.pickle"
CHECKPOINT_NAME = "streams-checkpoint.json"
# moto's objects change between versions: a snapshot is only read by the moto that wrote it.
FORMAT = 1


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _backends() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends


def stream_arn(table: Any) -> str:
    return f"{table.table_arn}/stream/{table.latest_stream_label}"


@dataclass(frozen=True)
class Restored:
    tables: int
    items: int


class LocalData:
    """Snapshots of the embedded DynamoDB under `directory`. `locked` runs a function while the
    server serves no request, so a snapshot never sees half of one."""

    def __init__(self, directory: Path, locked: Callable[[Callable[[], bytes]], bytes]) -> None:
        self.directory = directory
        self.snapshot = directory / SNAPSHOT_NAME
        self.checkpoint = directory / CHECKPOINT_NAME
        self._locked = locked
        self._last_digest: bytes | None = None
        self._write_lock = threading.Lock()

    # --- restore -------------------------------------------------------------------------------

    def restore(self) -> Restored | None:
        """Loads the snapshot into moto and puts its checkpoint in place; None when there is no
        snapshot (the live checkpoint is removed too: a new stream restarts its sequence numbers).
        A snapshot this moto cannot read is moved aside, never deleted."""
        if not self.snapshot.exists():
            self.checkpoint.unlink(missing_ok=True)
            return None
        try:
            state = pickle.loads(self.snapshot.read_bytes())  # noqa: S301 - our own file, written by save()
            if state.get("format") != FORMAT or state.get("moto") != _moto_version():
                raise ValueError(f"written by moto {state.get('moto')} (format {state.get('format')})")
        except Exception as exc:
            aside = self.snapshot.with_name(f"{SNAPSHOT_NAME}.unreadable-{int(time.time())}")
            self.snapshot.rename(aside)
            self.checkpoint.unlink(missing_ok=True)
            raise UnreadableSnapshotError(f"{self.snapshot} cannot be restored ({exc}); moved to {aside}") from exc
        backends = _backends()
        tables = items = 0
        for (account, region), saved in state["tables"].items():
            backends[account][region].tables.update(saved)
            tables += len(saved)
            items += sum(len(table) for table in saved.values())
        self._write_checkpoint(self._positions(state))
        self._last_digest = hashlib.sha256(self.snapshot.read_bytes()).digest()
        return Restored(tables=tables, items=items)

    def _positions(self, state: dict[str, Any]) -> dict[str, str]:
        positions = dict(state["checkpoint"])
        for saved in state["tables"].values():
            for table in saved.values():
                shard = table.stream_shard
                if shard is None:
                    continue
                key = f"{stream_arn(table)}::{shard.id}"
                # AFTER_SEQUENCE_NUMBER of the number before the first: the whole shard again.
                positions.setdefault(key, str(shard.starting_sequence_number - 1))
        return positions

    def _write_checkpoint(self, positions: dict[str, str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._replace(self.checkpoint, json.dumps(positions, indent=2).encode())

    # --- save ----------------------------------------------------------------------------------

    def save(self) -> bool:
        """Writes a snapshot when the data or the checkpoint changed since the last one; True when
        it wrote one."""
        with self._write_lock:
            # The checkpoint first: it may only name records the copied stream holds.
            checkpoint = self._read_checkpoint()
            data = self._locked(lambda: self._dump(checkpoint))
            digest = hashlib.sha256(data).digest()
            if digest == self._last_digest:
                return False
            self.directory.mkdir(parents=True, exist_ok=True)
            self._replace(self.snapshot, data)
            self._last_digest = digest
            return True

    def _read_checkpoint(self) -> dict[str, str]:
        try:
            positions = json.loads(self.checkpoint.read_text())
        except (OSError, ValueError):
            return {}
        return positions if isinstance(positions, dict) else {}

    def _dump(self, checkpoint: dict[str, str]) -> bytes:
        tables = {
            (account, region): backend.tables
            for account, per_region in _backends().items()
            for region, backend in per_region.items()
            if backend.tables
        }
        return pickle.dumps(
            {"format": FORMAT, "moto": _moto_version(), "tables": tables, "checkpoint": checkpoint},
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    @staticmethod
    def _replace(path: Path, data: bytes) -> None:
        """Whole or not at all: a crash mid-write leaves the previous file."""
        temporary = path.with_name(f".{path.name}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def save_every(
        self, interval: float, stopping: threading.Event, on_error: Callable[[str], None]
    ) -> threading.Thread:
        def loop() -> None:
            while not stopping.wait(interval):
                try:
                    self.save()
                except Exception as exc:
                    on_error(f"snapshot failed: {exc!r}")

        thread = threading.Thread(target=loop, name="local-data-snapshots", daemon=True)
        thread.start()
        return thread


class UnreadableSnapshotError(RuntimeError):
    pass


def reset(directory: Path) -> list[Path]:
    """Removes the snapshot, the checkpoint and what a snapshot left half-written (only those:
    the folder may be anything a user pointed LOCAL_DATA_DIR at). Returns what it removed."""
    removed = []
    names = (SNAPSHOT_NAME, CHECKPOINT_NAME, f".{SNAPSHOT_NAME}.tmp", f".{CHECKPOINT_NAME}.tmp")
    for path in [directory / name for name in names] + sorted(directory.glob(f"{SNAPSHOT_NAME}.unreadable-*")):
        if path.exists():
            path.unlink()
            removed.append(path)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when nothing else is in it
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description="The local stack's data (make reset).")
    parser.add_argument("command", choices=["reset"])
    parser.parse_args()
    from local.config import ROOT

    directory = ROOT / (os.environ.get("LOCAL_DATA_DIR") or ".local-data")
    removed = reset(directory)
    print(f"{directory}: removed {len(removed)} file(s); the next `make run` starts empty", flush=True)


if __name__ == "__main__":
    main()

"""Lambda SnapStart (python3.12+; `osls deploy --param="snapStart=true"`, see docs/performance.md):
Lambda initialises a published version once, snapshots the environment, and resumes copies of
that snapshot instead of cold-starting. What a copy must not share with its siblings is refreshed
after each restore: the random generator's state (every copy would draw the same backoff jitter),
the settings and the secrets they carry, and any connection an AWS client opened before the
snapshot. Before the snapshot, the DynamoDB client is created, so no restored copy pays for it.

The hooks are registered only when Lambda initialises for a snapshot (AWS_LAMBDA_INITIALIZATION_TYPE
is `snap-start`); `snapshot_restore_py` ships with the Lambda runtime."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from functools import cache
from typing import Any


@cache
def register() -> bool:
    """Registers the hooks once per process; True when this initialisation is for a snapshot."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True


def before_snapshot() -> None:
    # Only a function that talks to DynamoDB has loaded its repository module by now.
    dynamo = sys.modules.get("shared.repositories.dynamo")
    if dynamo is not None:
        dynamo.get_client()


def after_restore() -> None:
    random.seed()
    from shared.config import get_settings

    get_settings.cache_clear()
    for client in _clients():
        # Sockets from before the snapshot point at a host that no longer knows them; the pool
        # opens new ones on the next call.
        client._endpoint.http_session.close()


def _clients() -> Iterator[Any]:
    for module, factory in (
        ("shared.repositories.dynamo", "get_client"),
        ("shared.repositories.notifications", "get_events_client"),
    ):
        created = getattr(sys.modules.get(module), factory, None)
        if created is not None and created.cache_info().currsize:
            yield created()

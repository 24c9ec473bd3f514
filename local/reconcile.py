"""One reconciliation run against a DynamoDB (`make reconcile`): what the scheduled `reconcile`
function does every 15 minutes in the cloud. Prints the report as JSON on stdout (logs go to
stderr).

    DYNAMODB_ENDPOINT=http://127.0.0.1:8000 STAGE=dev python -m local.reconcile

By default it targets the embedded DynamoDB of `make run` (127.0.0.1:$DYNAMODB_PORT, 8000 unless
set), with the tables of serverless.yml.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import MutableMapping
from urllib.parse import urlsplit

from local import config

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def configure_environment(env: MutableMapping[str, str]) -> str:
    """The functions' environment (table names for the stage); fake credentials for a local
    endpoint, so that real ones are never sent to it. Returns the endpoint."""
    from local.config import FAKE_AWS

    endpoint = env.get("DYNAMODB_ENDPOINT") or f"http://127.0.0.1:{env.get('DYNAMODB_PORT') or 8000}"
    for key, value in config.environment(env.get("STAGE") or "dev").items():
        env.setdefault(key, value)
    env["DYNAMODB_ENDPOINT"] = endpoint
    if urlsplit(endpoint).hostname in _LOOPBACK:
        env.update(FAKE_AWS)
    return endpoint


def main() -> int:
    endpoint = configure_environment(os.environ)
    from shared.errors import InternalError, RetryLaterError
    from shared.managers import reconcile
    from shared.observability import logger

    for handler in logger.handlers:
        handler.setStream(sys.stderr)  # type: ignore[attr-defined]
    try:
        report = reconcile.default().reconcile_all()
    except (RetryLaterError, InternalError) as exc:
        # The repositories' own errors; the AWS one they were raised from says what went wrong.
        print(f"[local.reconcile] error: cannot reconcile at {endpoint}: {exc.__cause__ or exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

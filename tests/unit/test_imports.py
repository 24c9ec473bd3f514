"""The import rules that keep cold starts short (docs/performance.md). Importing a function module
(a Lambda's init) loads no X-Ray SDK and creates no AWS client (clients come once per process, on
first use), leaves the garbage collector running again with the import's objects frozen, and the
functions that never call AWS (health, openapi, docs, fallback) load neither boto3 nor botocore's client
machinery. Each module is imported in a fresh interpreter, so nothing a test or another module
imported earlier can hide what it pulls in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.config import load

ROOT = Path(__file__).resolve().parents[2]

MODULES = sorted(
    {spec["handler"].rsplit(".", 1)[0].replace("/", ".") for spec in load()["functions"].values()},
)

# No AWS call, so no AWS SDK beyond the `botocore` package itself (Powertools' user-agent hook).
NO_AWS = {"functions.health.get", "functions.docs.openapi", "functions.docs.swagger", "functions.fallback.handler"}
AWS_SDK = ["boto3", "botocore.session", "botocore.client", "s3transfer", "shared.repositories.dynamo"]

PROBE = """
import gc, importlib, json, sys
importlib.import_module(sys.argv[1])
gc_enabled, frozen = gc.isenabled(), gc.get_freeze_count()

clients = []
if "botocore.client" in sys.modules:
    from botocore.client import BaseClient
    clients = [type(o).__name__ for o in gc.get_objects() if isinstance(o, BaseClient)]
dynamo = sys.modules.get("shared.repositories.dynamo")
boto3 = sys.modules.get("boto3")
print(json.dumps({
    "xray": "aws_xray_sdk" in sys.modules,
    "jwt": sorted(m for m in ("jwt", "jose", "cryptography") if m in sys.modules),
    "clients": clients,
    "cached_client": dynamo.get_client.cache_info().currsize if dynamo else 0,
    "default_session": bool(boto3 and boto3.DEFAULT_SESSION is not None),
    "handler": callable(getattr(sys.modules[sys.argv[1]], "lambda_handler", None)),
    "gc_enabled": gc_enabled,
    "frozen": frozen,
    "modules": sorted(sys.modules),
}))
"""


def imported(module: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_every_function_is_probed() -> None:
    assert "functions.registrations.register" in MODULES
    assert "functions.promotion.handler" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_import_loads_no_xray_and_creates_no_client(module: str) -> None:
    # When a fresh process imports the function's module, as Lambda's init phase does
    state = imported(module)
    # Then it has its handler, but no tracing SDK and no AWS client yet
    assert state["handler"]
    assert state["xray"] is False, "the X-Ray SDK loads only when tracing is switched on"
    assert state["jwt"] == [], "tokens are verified by the gateway: functions only read its claims"
    assert state["clients"] == [], "boto3 clients are created lazily, on first use"
    assert state["cached_client"] == 0
    assert state["default_session"] is False


@pytest.mark.parametrize("module", MODULES)
def test_import_runs_without_garbage_collection_and_resumes_it(module: str) -> None:
    # When a fresh process imports the function's module
    state = imported(module)
    # Then the collector, paused by functions/__init__.py for the import, runs again, and what the
    # import built is frozen out of later collections
    assert state["gc_enabled"] is True
    assert state["frozen"] > 10_000


@pytest.mark.parametrize("module", sorted(NO_AWS))
def test_functions_without_aws_calls_load_no_aws_sdk(module: str) -> None:
    # When a function that never calls AWS is imported, then no AWS SDK machinery comes with it
    loaded = set(imported(module)["modules"])
    assert loaded.isdisjoint(AWS_SDK), sorted(loaded.intersection(AWS_SDK))

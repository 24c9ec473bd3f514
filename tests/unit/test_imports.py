"""Importing a function module (a Lambda's cold start) loads no X-Ray SDK and creates no AWS client:
clients come once per process, lazily, on first use. Each module is imported in a fresh
interpreter, so nothing a test or another module imported earlier can hide what it pulls in."""

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

PROBE = """
import gc, importlib, json, sys
importlib.import_module(sys.argv[1])

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

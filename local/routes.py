"""The API's routes, {path: [methods]}, from serverless.yml's http events (the fallback's catch-all
events are added by plugins/routes.js and are not routes). `make openapi` writes them to
shared/api/routes.json, the copy the functions read to tell 404 from 405; tests/unit/test_routes.py
fails while that copy is stale.

    .venv/bin/python -m local.routes > shared/api/routes.json"""

from __future__ import annotations

import json
from typing import Any

from local.config import load

FALLBACK = "fallback"


def declared(functions: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """{path: sorted methods} in serverless.yml order, paths normalised to one leading slash."""
    routes: dict[str, set[str]] = {}
    for name, function in (functions if functions is not None else load()["functions"]).items():
        if name == load()["custom"]["routes"]["fallbackFunction"]:
            continue
        for event in function.get("events", []):
            if "http" in event:
                path = "/" + event["http"]["path"].strip("/")
                routes.setdefault(path, set()).add(event["http"]["method"].upper())
    return {path: sorted(methods) for path, methods in routes.items()}


def render() -> str:
    return json.dumps(declared(), indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")

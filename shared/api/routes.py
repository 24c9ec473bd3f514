"""Every route of the API, as serverless.yml declares them: shared/api/routes.json, which `make
openapi` derives from its http events (tests/unit/test_routes.py fails while it is stale). Used to
answer an unknown path with 404 and a known path with the wrong method with 405."""

from __future__ import annotations

import json
import re
from pathlib import Path

# Written by `make openapi` (local/routes.py) from serverless.yml; packaged with the functions.
ROUTES: dict[str, frozenset[str]] = {
    path: frozenset(methods)
    for path, methods in json.loads(Path(__file__).with_name("routes.json").read_text()).items()
}

_PATTERNS = [
    (re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "/?"), methods)
    for path, methods in ROUTES.items()
]


def match(path: str) -> tuple[frozenset[str], dict[str, str]] | None:
    """The methods a path accepts and its path parameters (raw, unvalidated), or None when no
    route has that path. The whole path must match: a trailing newline is not ignored."""
    for pattern, methods in _PATTERNS:
        found = pattern.fullmatch(path)
        if found:
            return methods, found.groupdict()
    return None


def allowed_methods(path: str) -> frozenset[str] | None:
    """The methods a path accepts, or None when no route has that path."""
    route = match(path)
    return route[0] if route else None

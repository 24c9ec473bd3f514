"""Defence in depth against a gateway that routes on a normalised path: a function checks that the
path it received is the one the client sent and the one its route was chosen for, as far as the
API Gateway event tells (`requestContext.path` is the path as requested, stage prefix included;
`resource` + `pathParameters` the route API Gateway matched)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

_PARAMETER = re.compile(r"\{(\w+)\+?\}")


def _forbidden_segment(path: str) -> str | None:
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in {".", ".."} or any(char in decoded for char in "/\\%"):
            return segment
    return None


def _route_path(resource: str, parameters: dict[str, Any]) -> str | None:
    """The path the matched resource names with its parameters filled in (None if one is missing)."""
    try:
        return _PARAMETER.sub(lambda found: str(parameters[found.group(1)]), resource)
    except KeyError:
        return None


def path_problem(event: dict[str, Any]) -> str | None:
    """Why the received path cannot be trusted to name the route that runs, or None."""
    path = event.get("path") or ""
    segment = _forbidden_segment(path)
    if segment is not None:
        return f"path: segment '{segment}' is not allowed (encoded dot segments, slashes and double encoding)"
    received = unquote(path).rstrip("/")
    resource = event.get("resource")
    if resource:
        routed = _route_path(resource, event.get("pathParameters") or {})
        if routed is None or unquote(routed).rstrip("/") != received:
            return "path: the request does not match the route it reached"
    requested = (event.get("requestContext") or {}).get("path")
    if requested and not unquote(requested).rstrip("/").endswith(received):
        return "path: the request does not match the route it reached"
    return None

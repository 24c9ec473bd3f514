"""shared/api/routes.py against serverless.yml: the route table that answers 404/405 must list
exactly the http events that deploy, and each of those must be served by its handler module."""

from __future__ import annotations

import importlib
import re

import pytest

from local import config
from shared.api.routes import ROUTES, allowed_methods, match

FALLBACK = "fallback"


def declared_routes(include_fallback: bool = False) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for name, function in config.load()["functions"].items():
        if name == FALLBACK and not include_fallback:
            continue
        for event in function.get("events", []):
            if "http" in event:
                path = "/" + event["http"]["path"].strip("/")
                routes.setdefault(path, set()).add(event["http"]["method"].upper())
    return routes


def test_routes_equal_the_http_events_of_serverless_yml() -> None:
    assert {path: set(methods) for path, methods in ROUTES.items()} == declared_routes()


def test_the_excluded_fallback_only_catches_everything_else() -> None:
    fallback = config.load()["functions"][FALLBACK]
    http = [(e["http"]["path"], e["http"]["method"].upper()) for e in fallback["events"] if "http" in e]
    from shared.api.routes import ROUTES

    # Everything else, and any method on a known path (the route's own method wins over ANY).
    assert sorted(http) == sorted([("/", "ANY"), ("/{proxy+}", "ANY")] + [(path, "ANY") for path in ROUTES])
    assert len(http) == len(fallback["events"])


def test_no_route_is_declared_twice() -> None:
    pairs = [
        ("/" + e["http"]["path"].strip("/"), e["http"]["method"].upper())
        for f in config.load()["functions"].values()
        for e in f.get("events", [])
        if "http" in e
    ]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    ("function", "path", "method"),
    [
        (name, "/" + e["http"]["path"].strip("/"), e["http"]["method"].upper())
        for name, f in config.load()["functions"].items()
        if name != FALLBACK
        for e in f.get("events", [])
        if "http" in e
    ],
)
def test_each_handler_module_serves_its_declared_route(function: str, path: str, method: str) -> None:
    handler = config.load()["functions"][function]["handler"]
    module = importlib.import_module(handler.rsplit(".", 1)[0].replace("/", "."))
    served = {
        (route.method, re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in module.app._static_routes + module.app._dynamic_routes
    }
    assert (method, path) in served, served


@pytest.mark.parametrize(
    ("path", "methods", "params"),
    [
        ("/health", {"GET"}, {}),
        ("/events", {"GET", "POST"}, {}),
        ("/events/", {"GET", "POST"}, {}),
        ("/events/e-1", {"GET", "PUT", "DELETE"}, {"eventId": "e-1"}),
        ("/events/e1/registrations/u@x", {"DELETE"}, {"eventId": "e1", "userId": "u@x"}),
        ("/users/u1/waitlist", {"GET"}, {"userId": "u1"}),
        ("/events/a#b", {"GET", "PUT", "DELETE"}, {"eventId": "a#b"}),
        ("/events/abc\n", {"GET", "PUT", "DELETE"}, {"eventId": "abc\n"}),
    ],
)
def test_match_gives_methods_and_raw_parameters(path: str, methods: set[str], params: dict[str, str]) -> None:
    assert match(path) == (frozenset(methods), params)
    assert allowed_methods(path) == frozenset(methods)


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/events/a/b", "/events//registrations", "/openapiXjson", "/healthz", "/users/u1/x"]
)
def test_unknown_paths_match_nothing(path: str) -> None:
    assert match(path) is None
    assert allowed_methods(path) is None

"""shared/api/routes.py against serverless.yml: the route table that answers 404/405 must list
exactly the http events that deploy, and each of those must be served by its handler module."""

from __future__ import annotations

import importlib
import re

import pytest

from local import config
from local import routes as local_routes
from shared.api.routes import ROUTES, allowed_methods, match

FALLBACK = config.load()["custom"]["routes"]["fallbackFunction"]


def declared_routes() -> dict[str, set[str]]:
    return {path: set(methods) for path, methods in local_routes.declared().items()}


def test_routes_equal_the_http_events_of_serverless_yml() -> None:
    assert {path: set(methods) for path, methods in ROUTES.items()} == declared_routes(), "run `make openapi`"


def test_the_committed_route_list_is_fresh() -> None:
    # shared/api/routes.json is generated: `make openapi` rewrites it from serverless.yml.
    committed = (config.ROOT / "shared" / "api" / "routes.json").read_text()
    assert committed == local_routes.render(), "shared/api/routes.json is stale: run `make openapi`"


def test_the_fallback_declares_no_route_of_its_own() -> None:
    # plugins/routes.js gives it ANY on every path (tests/unit/test_template.py checks the result).
    fallback = config._raw()["functions"][FALLBACK]
    assert not [event for event in fallback.get("events", []) if "http" in event]


def test_the_fallback_catches_any_method_on_every_path_as_the_plugin_says() -> None:
    fallback = config.load()["functions"][FALLBACK]
    http = [(e["http"]["path"], e["http"]["method"].upper()) for e in fallback["events"] if "http" in e]
    # Everything else, and any method on a known path (the route's own method wins over ANY).
    assert sorted(http) == sorted([("/", "ANY"), ("/{proxy+}", "ANY")] + [(path, "ANY") for path in ROUTES])


def test_every_route_decorator_in_a_function_module_is_deployed_by_its_function() -> None:
    """The other direction of test_each_handler_module_serves_its_declared_route: a route written
    in a module but missing from serverless.yml (or declared by another function) fails here."""
    deployed: dict[tuple[str, str], str] = {}
    for name, function in config.load()["functions"].items():
        module = function["handler"].rsplit(".", 1)[0]
        for event in function.get("events", []) if name != FALLBACK else []:
            if "http" in event:
                deployed[(event["http"]["method"].upper(), "/" + event["http"]["path"].strip("/"))] = module
    written: dict[tuple[str, str], str] = {}
    for path in sorted((config.ROOT / "functions").rglob("*.py")):
        module = path.relative_to(config.ROOT).with_suffix("").as_posix()
        app = getattr(importlib.import_module(module.replace("/", ".")), "app", None)
        for route in (app._static_routes + app._dynamic_routes) if app is not None else []:
            written[(route.method, re.sub(r"<(\w+)>", r"{\1}", route.path))] = module
    assert written == deployed


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

"""The committed openapi.json: generated from the functions (so it cannot drift), valid OpenAPI, and
complete against the routes serverless.yml deploys."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from local.openapi import UNDOCUMENTED_PATHS
from shared.api.routes import ROUTES
from shared.models.fields import EVENT_STATUSES, ID_PATTERN
from shared.models.requests import EventCreate, EventUpdate, RegistrationCreate, UserCreate

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(COMMITTED.read_text())
NOT_DOCUMENTED = UNDOCUMENTED_PATHS
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/events"): EventCreate,
    ("put", "/events/{eventId}"): EventUpdate,
    ("post", "/users"): UserCreate,
    ("post", "/events/{eventId}/registrations"): RegistrationCreate,
}
LISTS = {
    "/events",
    "/events/{eventId}/registrations",
    "/events/{eventId}/waitlist",
    "/users/{userId}/registrations",
    "/users/{userId}/waitlist",
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def parameters(operation: dict[str, Any], location: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == location}


def test_committed_document_is_what_the_functions_generate() -> None:
    # Given the functions as they are now, when the generator runs in a fresh process
    fresh = subprocess.run(
        [sys.executable, "-m", "local.openapi"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # Then it matches the committed file byte for byte
    assert fresh == COMMITTED.read_text(), "openapi.json is stale: run `make openapi` and commit it"


def test_document_is_valid_openapi() -> None:
    import openapi_spec_validator

    openapi_spec_validator.validate(DOCUMENT)


def test_document_structure() -> None:
    assert DOCUMENT["openapi"].startswith("3.")
    assert DOCUMENT["info"]["title"] and DOCUMENT["info"]["version"]
    for method, path, operation in operations():
        assert operation["operationId"], (method, path)
        assert operation["responses"], (method, path)
        assert all(re.fullmatch(r"[1-5]\d\d", code) for code in operation["responses"]), (method, path)
    text = COMMITTED.read_text()
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in DOCUMENT["components"]["schemas"], f"dangling $ref {ref}"


def test_every_route_is_documented_with_its_methods() -> None:
    documented = {
        path: frozenset(method.upper() for method in item if method in HTTP_METHODS)
        for path, item in DOCUMENT["paths"].items()
    }
    expected = {path: methods for path, methods in ROUTES.items() if path not in NOT_DOCUMENTED}
    assert documented == expected


def test_path_parameters_carry_the_identifier_pattern() -> None:
    for method, path, operation in operations():
        templated = set(re.findall(r"\{(\w+)\}", path))
        declared = parameters(operation, "path")
        assert set(declared) == templated, (method, path)
        for name, parameter in declared.items():
            assert parameter["required"] is True
            assert parameter["schema"]["pattern"] == ID_PATTERN, (method, path, name)


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_take_limit_and_next_token(path: str) -> None:
    operation = DOCUMENT["paths"][path]["get"]
    query = parameters(operation, "query")
    assert query["limit"]["schema"]["minimum"] == 1
    assert query["limit"]["schema"]["maximum"] == 100
    assert "nextToken" in query
    assert "X-Next-Token" in operation["responses"]["200"]["headers"]


def test_events_can_be_filtered_by_status() -> None:
    schema = parameters(DOCUMENT["paths"]["/events"]["get"], "query")["status"]["schema"]
    enums = [choice["enum"] for choice in schema.get("anyOf", [schema]) if "enum" in choice]
    assert enums == [list(EVENT_STATUSES)]


@pytest.mark.parametrize(("method", "path"), sorted(REQUEST_BODIES))
def test_request_bodies_reference_their_model(method: str, path: str) -> None:
    model = REQUEST_BODIES[(method, path)]
    body = DOCUMENT["paths"][path][method]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
    component = DOCUMENT["components"]["schemas"][model.__name__]
    assert set(component["properties"]) == set(model.model_fields)
    assert component["additionalProperties"] is False


def test_errors_are_documented_as_the_api_answers_them() -> None:
    # The shared factory answers invalid input with 400 {"detail"}, never Powertools' 422.
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["Error"]["required"] == ["detail"]
    assert "HTTPValidationError" not in schemas
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, operation in operations():
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        assert responses["500"]["content"]["application/json"]["schema"] == error
        if operation.get("parameters") or "requestBody" in operation:
            assert responses["400"]["content"]["application/json"]["schema"] == error, (method, path)
        if "requestBody" in operation:
            assert "413" in responses, (method, path)


def test_every_operation_documents_its_success_body_and_errors() -> None:
    from local.openapi_responses import ROUTES as DOCUMENTED
    from shared.api.routes import ROUTES

    operations = {
        (method.lower(), path) for path, methods in ROUTES.items() if path not in NOT_DOCUMENTED for method in methods
    }
    assert operations == set(DOCUMENTED)
    for (method, path), (status, _, _, errors) in DOCUMENTED.items():
        responses = DOCUMENT["paths"][path][method]["responses"]
        assert "content" in responses[str(status)], (method, path)
        assert {str(code) for code in errors} <= set(responses)
    assert set(DOCUMENT["paths"]["/events"]["post"]["responses"]) >= {"201", "409"}
    headers = [p["name"] for p in DOCUMENT["paths"]["/events/{eventId}/registrations"]["post"]["parameters"]]
    assert "Idempotency-Key" in headers

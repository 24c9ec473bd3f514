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
    from local.openapi_responses import OPERATION_IDS
    from local.openapi_responses import ROUTES as DOCUMENTED
    from shared.api.routes import ROUTES

    operations = {
        (method.lower(), path) for path, methods in ROUTES.items() if path not in NOT_DOCUMENTED for method in methods
    }
    # A route without special answers needs no entry: it keeps Powertools' 200 and its return type.
    assert set(DOCUMENTED) <= operations
    for method, path in operations:
        operation = DOCUMENT["paths"][path][method]
        assert operation["operationId"] == OPERATION_IDS[(method, path)], (method, path)
        assert any(code.startswith("2") and "content" in answer for code, answer in operation["responses"].items())
    for (method, path), (status, _, _, errors) in DOCUMENTED.items():
        responses = DOCUMENT["paths"][path][method]["responses"]
        assert "content" in responses[str(status)], (method, path)
        assert {str(code) for code in errors} <= set(responses)
    assert set(DOCUMENT["paths"]["/events"]["post"]["responses"]) >= {"201", "409"}
    assert "Idempotency-Key" in DOCUMENT["paths"]["/events/{eventId}/registrations"]["post"]["description"]


def test_document_is_openapi_30_where_an_integer_has_no_fraction() -> None:
    # 3.1's dialect counts 5.0 as an integer; the API refuses it, and 3.0's dialect agrees.
    assert DOCUMENT["openapi"].startswith("3.0.")
    text = COMMITTED.read_text()
    assert '"type": "null"' not in text
    assert '"const"' not in text
    capacity = DOCUMENT["components"]["schemas"]["EventCreate"]["properties"]["capacity"]
    assert capacity == {**capacity, "type": "integer", "minimum": 1, "nullable": True}


def test_request_schemas_publish_the_rules_the_models_enforce() -> None:
    from local.openapi_responses import idempotent_operations
    from shared.api.pagination import TOKEN_PATTERN
    from shared.idempotency import KEY_PATTERN
    from shared.models.fields import EVENT_DATE_PATTERN, MULTI_LINE_PATTERN, NAME_PATTERN, SINGLE_LINE_PATTERN

    schemas = DOCUMENT["components"]["schemas"]
    for model in ("EventCreate", "EventUpdate"):
        properties = schemas[model]["properties"]
        assert properties["date"]["pattern"] == EVENT_DATE_PATTERN
        assert properties["description"]["pattern"] == MULTI_LINE_PATTERN
        for name in ("title", "location", "organizer"):
            assert properties[name]["pattern"] == SINGLE_LINE_PATTERN
    name = schemas["UserCreate"]["properties"]["name"]
    assert name["pattern"] == NAME_PATTERN
    assert "maxLength" not in name  # the 200 holds after trimming, which the pattern says
    update = schemas["EventUpdate"]
    assert update["minProperties"] == 1
    assert [n for n, p in update["properties"].items() if p.get("nullable")] == ["capacity"]
    for path in LISTS:
        assert parameters(DOCUMENT["paths"][path]["get"], "query")["nextToken"]["schema"]["pattern"] == TOKEN_PATTERN
    key = DOCUMENT["components"]["parameters"]["IdempotencyKey"]
    assert (key["name"], key["in"], key["schema"]["pattern"]) == ("Idempotency-Key", "header", KEY_PATTERN)
    idempotent = idempotent_operations()
    assert idempotent == {("post", "/events"), ("post", "/users"), ("post", "/events/{eventId}/registrations")}
    for method, path in idempotent:
        operation = DOCUMENT["paths"][path][method]
        assert operation["x-idempotency-key"] == {"$ref": "#/components/parameters/IdempotencyKey"}, (method, path)
        assert "Idempotency-Key" in operation["description"] and "1-200 printable ASCII" in operation["description"]
        # Described, never a generated parameter: a fuzzer's unrelated scenarios would share keys
        assert "Idempotency-Key" not in parameters(operation, "header"), (method, path)


def test_every_operation_documents_the_shared_statuses_and_headers() -> None:
    headers = DOCUMENT["components"]["headers"]
    assert headers["Retry-After"]["required"] is True
    for method, path, operation in operations():
        responses = operation["responses"]
        assert {"429", "500"} <= set(responses), (method, path)
        assert "Retry-After" in responses["429"]["headers"], (method, path)
        if path != "/health":
            assert "Retry-After" in responses["503"]["headers"], (method, path)
        for code, response in responses.items():
            assert "Access-Control-Allow-Origin" in response["headers"], (method, path, code)
            for header in response["headers"].values():
                assert header["$ref"].removeprefix("#/components/headers/") in headers
        success = next(response for code, response in responses.items() if code.startswith("2"))
        if method == "get" and path in LISTS:
            assert "X-Next-Token" in success["headers"], (method, path)
        if "x-idempotency-key" in operation:
            assert "Idempotent-Replayed" in success["headers"], (method, path)


def test_links_feed_every_path_id_from_the_answer_that_creates_it() -> None:
    by_id = {operation["operationId"]: (method, path) for method, path, operation in operations()}
    fed: set[tuple[str, str]] = set()
    for method, path, operation in operations():
        for response in operation["responses"].values():
            for name, link in response.get("links", {}).items():
                target = by_id[link["operationId"]]
                given = set(link.get("parameters", {}))
                assert given <= set(re.findall(r"\{(\w+)\}", target[1])), (method, path, name)
                for expression in [*link.get("parameters", {}).values(), *link.get("requestBody", {}).values()]:
                    field = expression.removeprefix("$response.body#/").removeprefix("0/")
                    assert field in ("eventId", "userId") or (
                        expression.startswith("$request.path.") and expression[14:] in path
                    ), (method, path, name, expression)
                if given == set(re.findall(r"\{(\w+)\}", target[1])):
                    fed.add(target)
    needing_ids = {(method, path) for method, path, _ in operations() if "{" in path}
    assert needing_ids <= fed, needing_ids - fed
    # The main flow: create event → register (its eventId), create user → register (body userId) →
    # unregister (both ids of the registration).
    links = DOCUMENT["paths"]["/users"]["post"]["responses"]["201"]["links"]
    assert links["RegisterUser"]["requestBody"] == {"userId": "$response.body#/userId"}
    unregister = DOCUMENT["paths"]["/events/{eventId}/registrations"]["post"]["responses"]["201"]["links"]["Unregister"]
    assert unregister["parameters"] == {"eventId": "$response.body#/eventId", "userId": "$response.body#/userId"}


def test_errors_are_exactly_detail() -> None:
    assert DOCUMENT["components"]["schemas"]["Error"]["additionalProperties"] is False

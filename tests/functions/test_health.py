"""GET /health, in-process through the handler serverless.yml routes it to."""

from __future__ import annotations

from tests.builders import ApiClient


def test_health_is_200_healthy(api: ApiClient) -> None:
    response = api.get("/health")

    assert response.status == 200
    assert response.body == {"status": "healthy"}
    assert response.headers["content-type"] == "application/json"


def test_health_answers_cross_origin_requests(api: ApiClient) -> None:
    response = api.get("/health", headers={"Origin": "https://app.example.com"})

    assert response.status == 200 and response.body == {"status": "healthy"}
    assert response.headers["access-control-allow-origin"] == "*"


def test_health_ignores_query_strings(api: ApiClient) -> None:
    assert api.get("/health?verbose=1").body == {"status": "healthy"}


def test_health_is_served_by_its_own_function(api: ApiClient) -> None:
    module, _, _ = api.handler_for("GET", "/health")
    assert module == "functions.health.get"


def test_other_methods_are_405(api: ApiClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = api.request(method, "/health")
        assert response.status == 405
        assert set(response.body) == {"detail"} and method in response.body["detail"]
        assert response.headers["allow"] == "GET, OPTIONS"

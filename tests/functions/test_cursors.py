"""Page tokens (issue 9, defect 8): the signing key is never a literal — PAGINATION_SECRET locally,
an SSM SecureString in deployed stages, and no usable key means no paging rather than a guessable
one — and a correctly signed cursor that is not a key of its own list is a 400 before it reaches
DynamoDB."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from shared.api.pagination import encode_token
from shared.config import get_settings
from tests.builders import ApiClient
from tests.helpers import assert_error, make_event, make_users, register

EVENT, USER = "evt-1", "user-1"
LISTS = {
    # path: (scope the route signs with, a valid cursor)
    "/events": ("events?status=None", {"eventId": {"S": EVENT}}),
    "/events?status=active": (
        "events?status=active",
        {"eventId": {"S": EVENT}, "status": {"S": "active"}, "createdAt": {"S": "2026-01-01T00:00:00+00:00"}},
    ),
    f"/events/{EVENT}/registrations": (
        f"events/{EVENT}/registrations",
        {"eventId": {"S": EVENT}, "userId": {"S": USER}, "registeredAt": {"S": "2026-01-01T00:00:00+00:00"}},
    ),
    f"/events/{EVENT}/waitlist": (f"events/{EVENT}/waitlist", {"eventId": {"S": EVENT}, "position": {"N": "5"}}),
    f"/users/{USER}/registrations": (
        f"users/{USER}/registrations",
        {"eventId": {"S": EVENT}, "userId": {"S": USER}, "registeredAt": {"S": "2026-01-01T00:00:00+00:00"}},
    ),
    f"/users/{USER}/waitlist": (
        f"users/{USER}/waitlist",
        {"eventId": {"S": EVENT}, "position": {"N": "5"}, "userId": {"S": USER}, "addedAt": {"S": "2026-01-01"}},
    ),
}


PARTITIONS = {
    "/events?status=active": "status",
    f"/users/{USER}/registrations": "userId",
    f"/users/{USER}/waitlist": "userId",
}


def spoiled(path: str, cursor: dict[str, Any]) -> dict[str, Any]:
    """Cursors with the right signature and the wrong content, each in its own way."""
    first = next(iter(cursor))
    numeric = next((name for name, attr in cursor.items() if "N" in attr), None)
    cases: dict[str, Any] = {
        "empty": {},
        "extra-key": {**cursor, "other": {"S": "x"}},
        "missing-key": {k: v for k, v in list(cursor.items())[1:]},
        "foreign-key": {"id": {"S": "x"}},
        "wrong-type": {**cursor, first: {"N": "1"}},
        "empty-string": {**cursor, first: {"S": ""}},
        "list-value": {**cursor, first: {"L": []}},
        "plain-value": {**cursor, first: "x"},
        "two-types": {**cursor, first: {"S": "x", "N": "1"}},
        "huge-string": {**cursor, first: {"S": "x" * 2000}},
    }
    partition = PARTITIONS.get(path, "eventId" if path != "/events" else None)
    if partition:
        cases["foreign-partition"] = {**cursor, partition: {"S": "other"}}
    if numeric:
        cases["number-as-string"] = {**cursor, numeric: {"S": "5"}}
        cases["huge-number"] = {**cursor, numeric: {"N": "9" * 5000}}
        cases["fraction"] = {**cursor, numeric: {"N": "1.5"}}
    return cases


CASES = [(path, name, bad) for path, (_, cursor) in LISTS.items() for name, bad in spoiled(path, cursor).items()]


@pytest.mark.parametrize(("path", "name", "bad"), CASES, ids=[f"{p}:{n}" for p, n, _ in CASES])
def test_a_signed_cursor_that_is_no_key_of_its_list_is_400(api: ApiClient, path: str, name: str, bad: Any) -> None:
    make_event(api, eventId=EVENT, capacity=1, waitlistEnabled=True)
    scope = LISTS[path][0]
    separator = "&" if "?" in path else "?"
    assert_error(api.get(f"{path}{separator}nextToken={encode_token(scope, bad)}"), 400, "nextToken")


@pytest.mark.parametrize("path", list(LISTS))
def test_a_signed_valid_cursor_still_pages(api: ApiClient, path: str) -> None:
    make_event(api, eventId=EVENT)
    scope, cursor = LISTS[path]
    separator = "&" if "?" in path else "?"
    response = api.get(f"{path}{separator}nextToken={encode_token(scope, cursor)}")
    assert response.status in (200, 404), response.body  # 404: the user of the user lists does not exist


class TestSigningKey:
    @pytest.fixture
    def deployed(self, monkeypatch: pytest.MonkeyPatch, api: ApiClient) -> str:
        """As a deployed stage: no PAGINATION_SECRET, the parameter's name from serverless.yml."""
        monkeypatch.delenv("PAGINATION_SECRET")
        get_settings.cache_clear()
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        return get_settings().pagination_secret_parameter or ""

    def test_the_deployed_parameter_is_per_stage(self, deployed: str) -> None:
        assert deployed == "/event-registrations/dev/pagination-secret"

    def test_pages_are_signed_with_the_ssm_secret(self, api: ApiClient, deployed: str) -> None:
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=deployed, Value="s" * 48, Type="SecureString")
        event_id = make_event(api, capacity=5)["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
        first = api.get(f"/events/{event_id}/registrations?limit=2")
        token = first.headers["x-next-token"]
        assert first.status == 200 and token
        second = api.get(f"/events/{event_id}/registrations?limit=2&nextToken={token}")
        assert second.status == 200 and len(second.body) == 1

    @pytest.mark.parametrize("secret", [None, "short"])
    def test_without_a_real_secret_a_list_refuses_to_page(
        self, api: ApiClient, deployed: str, secret: str | None
    ) -> None:
        if secret is not None:
            boto3.client("ssm", region_name="us-east-1").put_parameter(Name=deployed, Value=secret, Type="SecureString")
        event_id = make_event(api, capacity=5)["eventId"]
        for user in make_users(api, 2):
            register(api, event_id, user)
        response = api.get(f"/events/{event_id}/registrations?limit=1")
        assert_error(response, 500)
        assert response.body == {"detail": "Internal server error"}

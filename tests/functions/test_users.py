"""The Users API, per route, in-process on moto: POST /users and GET /users/{userId}, every rule of
SPEC.md's Users section with status and body, and rejected writes leaving the store untouched."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.config import get_settings
from tests.builders import ApiClient
from tests.helpers import assert_error, assert_utc_timestamp, uid


def stored_users(client: Any) -> list[dict[str, Any]]:
    return client.scan(TableName=get_settings().users_table, ConsistentRead=True)["Items"]


class TestCreate:
    def test_with_user_id(self, api: ApiClient) -> None:
        user_id = uid("user")

        response = api.post("/users", {"userId": user_id, "name": "Ada Lovelace"})

        assert response.status == 201
        assert response.body == {"userId": user_id, "name": "Ada Lovelace", "createdAt": response.body["createdAt"]}
        assert_utc_timestamp(response.body["createdAt"])
        assert api.get(f"/users/{user_id}").body == response.body

    def test_without_user_id_generates_a_uuid4(self, api: ApiClient) -> None:
        first = api.post("/users", {"name": "Ada"})
        second = api.post("/users", {"name": "Ada"})

        assert first.status == 201 and second.status == 201
        assert set(first.body) == {"userId", "name", "createdAt"}
        generated = uuid.UUID(first.body["userId"])
        assert generated.version == 4 and str(generated) == first.body["userId"]
        assert first.body["userId"] != second.body["userId"]
        assert api.get(f"/users/{first.body['userId']}").body == first.body

    @pytest.mark.parametrize(
        ("given", "stored"),
        [("  Ada  ", "Ada"), ("\tGrace Hopper\n", "Grace Hopper"), (" " * 3 + "x" * 200 + " " * 3, "x" * 200)],
    )
    def test_name_is_stored_trimmed(self, api: ApiClient, given: str, stored: str) -> None:
        user_id = uid("user")

        response = api.post("/users", {"userId": user_id, "name": given})

        assert response.status == 201 and response.body["name"] == stored
        assert api.get(f"/users/{user_id}").body["name"] == stored

    def test_inner_spaces_are_kept(self, api: ApiClient) -> None:
        assert api.post("/users", {"name": "Ada  King"}).body["name"] == "Ada  King"

    def test_name_of_200_characters_is_accepted(self, api: ApiClient) -> None:
        assert api.post("/users", {"name": "é" * 200}).status == 201

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "\t\n"}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": None}, "name"),
            ({"name": 123}, "name"),
            ({"name": True}, "name"),
            ({"name": ["Ada"]}, "name"),
            ({"name": "Ada\x00"}, "name"),
            ({"name": "Ada\nKing"}, "name"),
            ({}, "name"),
            ({"userId": "", "name": "Ada"}, "userId"),
            ({"userId": "x" * 65, "name": "Ada"}, "userId"),
            ({"userId": "has space", "name": "Ada"}, "userId"),
            ({"userId": "a#b", "name": "Ada"}, "userId"),
            ({"userId": "a/b", "name": "Ada"}, "userId"),
            ({"userId": "nul\x00", "name": "Ada"}, "userId"),
            ({"userId": "abc\n", "name": "Ada"}, "userId"),
            ({"userId": 42, "name": "Ada"}, "userId"),
            ({"userId": None, "name": "Ada", "email": "a@b"}, "email"),
            ({"name": "Ada", "createdAt": "2026-01-01T00:00:00+00:00"}, "createdAt"),
        ],
    )
    def test_invalid_body_is_400_naming_the_field_and_stores_nothing(
        self, api: ApiClient, dynamodb: Any, body: dict[str, Any], field: str
    ) -> None:
        response = api.post("/users", body)

        assert_error(response, 400, field)
        assert stored_users(dynamodb) == []

    @pytest.mark.parametrize("user_id", ["a", "x" * 64, "A-z_0.9@host:port"])
    def test_ids_within_the_rule_are_accepted(self, api: ApiClient, user_id: str) -> None:
        response = api.post("/users", {"userId": user_id, "name": "Ada"})

        assert response.status == 201 and response.body["userId"] == user_id
        assert api.get(f"/users/{user_id}").body == response.body

    def test_existing_user_id_is_409_and_keeps_the_first(self, api: ApiClient) -> None:
        # Given a user
        user_id = uid("user")
        first = api.post("/users", {"userId": user_id, "name": "First"}).body

        # When another is created with the same id
        response = api.post("/users", {"userId": user_id, "name": "Second"})

        # Then it is a conflict and the first is unchanged
        assert_error(response, 409, user_id)
        assert api.get(f"/users/{user_id}").body == first

    @pytest.mark.parametrize("raw", ["{", "[]", '[{"name": "Ada"}]', '"Ada"', "null", "7"])
    def test_body_that_is_not_a_json_object_is_400(self, api: ApiClient, dynamodb: Any, raw: str) -> None:
        assert_error(api.post("/users", raw_body=raw), 400)
        assert stored_users(dynamodb) == []


class TestGet:
    def test_found(self, api: ApiClient) -> None:
        user_id = uid("user")
        created = api.post("/users", {"userId": user_id, "name": "Ada"}).body

        response = api.get(f"/users/{user_id}")

        assert response.status == 200 and response.body == created

    def test_unknown_is_404(self, api: ApiClient) -> None:
        missing = uid("ghost")
        assert_error(api.get(f"/users/{missing}"), 404, missing)

    @pytest.mark.parametrize("bad_id", ["x" * 65, "a%20b", "a b", "a%23b", "é", "a%00b"])
    def test_id_breaking_the_rule_is_400(self, api: ApiClient, bad_id: str) -> None:
        assert_error(api.get(f"/users/{bad_id}"), 400, "userId")

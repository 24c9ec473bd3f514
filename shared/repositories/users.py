"""Users table."""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
from shared.errors import ConflictError, NotFoundError
from shared.models.domain import User
from shared.repositories.dynamo import Dynamo, deserialize, serialize
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import user_key


def user_from_item(item: dict[str, Any]) -> User:
    data = deserialize(item)
    return User(userId=data["userId"], name=data["name"], createdAt=data["createdAt"])


class UserRepository:
    def __init__(self, client: Any = None, table: str | None = None) -> None:
        self._client = Dynamo(client)
        self._table = table or get_settings().users_table

    def create(self, user: User) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize(user.to_dict()),
                ConditionExpression="attribute_not_exists(userId)",
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                raise ConflictError(f"User {user.userId} already exists") from exc
            raise

    def get(self, user_id: str) -> User:
        item = self._client.get_item(TableName=self._table, Key=user_key(user_id), ConsistentRead=True).get("Item")
        if not item:
            raise NotFoundError(f"User {user_id} not found")
        return user_from_item(item)

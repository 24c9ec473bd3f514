"""UserManager: the Users API."""

from __future__ import annotations

import uuid
from functools import cache

from shared.clock import utc_now
from shared.models.domain import User
from shared.models.requests import UserCreate
from shared.repositories.users import UserRepository


class UserManager:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    def create(self, request: UserCreate, user_id: str | None = None) -> User:
        """`user_id`: the caller's own id with authentication on; else the request's, or a new UUID4."""
        user = User(userId=user_id or request.userId or str(uuid.uuid4()), name=request.name, createdAt=utc_now())
        self._users.create(user)
        return user

    def get(self, user_id: str) -> User:
        return self._users.get(user_id)


@cache
def default() -> UserManager:
    return UserManager(UserRepository())

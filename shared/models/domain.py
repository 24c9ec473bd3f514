"""Domain objects: what managers and repositories pass between each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    eventId: str
    title: str
    description: str
    date: str
    location: str
    organizer: str
    status: str
    capacity: int | None
    waitlistEnabled: bool
    createdAt: str
    updatedAt: str
    registeredCount: int = 0
    waitlistCount: int = 0
    # Who created it (the token's subject); None when it was created with authentication off.
    ownerId: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        if data["ownerId"] is None:
            del data["ownerId"]
        return data


@dataclass(frozen=True)
class User:
    userId: str
    name: str
    createdAt: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Registration:
    eventId: str
    userId: str
    registeredAt: str
    status: str = "confirmed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "userId": self.userId,
            "eventId": self.eventId,
            "status": self.status,
            "registeredAt": self.registeredAt,
        }


@dataclass(frozen=True)
class WaitlistEntry:
    """`ticket` is the stored, never-renumbered queue number; `position` the live place in line."""

    eventId: str
    userId: str
    ticket: int
    addedAt: str
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "userId": self.userId,
            "eventId": self.eventId,
            "status": "waitlisted",
            "position": self.position,
            "addedAt": self.addedAt,
        }


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list (items of one type), and the cursor (DynamoDB's LastEvaluatedKey plus
    extras) to the next one."""

    items: list[T]
    cursor: dict[str, Any] | None = field(default=None)

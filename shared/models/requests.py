"""Request bodies. Strict: no coercion, no unknown fields, no read-only fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.models.fields import (
    READ_ONLY_EVENT_FIELDS,
    Capacity,
    Description,
    EventDate,
    EventStatus,
    Identifier,
    Name,
    Title,
)


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _reject_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = sorted(READ_ONLY_EVENT_FIELDS.intersection(data))
            if given:
                raise ValueError(f"read-only field(s) cannot be set: {', '.join(given)}")
        return data


class EventCreate(StrictBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Launch party",
                    "date": "2026-12-01T18:30:00Z",
                    "location": "Hall A",
                    "organizer": "Ada",
                    "capacity": 2,
                    "waitlistEnabled": True,
                }
            ]
        }
    )

    eventId: Identifier | None = None
    title: Title
    description: Description = ""
    date: EventDate
    location: Title
    organizer: Title
    status: EventStatus = "active"
    capacity: Capacity | None = None
    waitlistEnabled: bool = False


def _without_null(schema: dict[str, Any]) -> None:
    """The field's schema as its type alone: null is refused (EventUpdate._check_fields)."""
    branches = schema.pop("anyOf")
    schema.update(next(branch for branch in branches if branch != {"type": "null"}))


def _absent_or_given() -> Any:
    return Field(default=None, json_schema_extra=_without_null)


class EventUpdate(StrictBody):
    """Fields present replace stored ones; `capacity: null` removes the limit. At least one field."""

    # Only capacity may be null: the others accept None here (absent) and refuse an explicit null
    # below, so the published schema shows them as non-nullable. Optional, not a union with
    # SkipJsonSchema[None]: pydantic reports each member of a union, so an invalid title read
    # "body.title.function-after[_single_line(), constrained-str]: …; body.title.none: Input should be None".
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "examples": [{"capacity": 3}]})

    title: Title | None = _absent_or_given()
    description: Description | None = _absent_or_given()
    date: EventDate | None = _absent_or_given()
    location: Title | None = _absent_or_given()
    organizer: Title | None = _absent_or_given()
    status: EventStatus | None = _absent_or_given()
    capacity: Capacity | None = None
    waitlistEnabled: bool | None = _absent_or_given()

    @model_validator(mode="after")
    def _check_fields(self) -> EventUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one field must be given")
        for field in self.model_fields_set - {"capacity"}:
            if getattr(self, field) is None:
                raise ValueError(f"{field} must not be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.model_fields_set}


class UserCreate(StrictBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada Lovelace"}]})

    userId: Identifier | None = None
    name: Name


class RegistrationCreate(StrictBody):
    """`userId` may be omitted (with authentication on it is then the caller; without, the route
    answers 400), but not null."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"userId": "ada"}]})

    userId: Identifier = Field(default=None)  # type: ignore[assignment]  # the default is not validated

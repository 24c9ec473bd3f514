"""Field types shared by the request models: strict, bounded, free of control characters."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

ID_PATTERN = r"^[A-Za-z0-9._@:-]{1,64}$"
EVENT_STATUSES = ("draft", "scheduled", "active", "cancelled", "completed")
OPEN_STATUSES = ("scheduled", "active")
READ_ONLY_EVENT_FIELDS = frozenset({"createdAt", "updatedAt", "registeredCount", "waitlistCount"})
MAX_CAPACITY = 1_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
# fromisoformat alone would also take week dates (2026-W01-1), ordinal dates and the basic format.
_EXTENDED_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?")


def _single_line(value: str) -> str:
    if _CONTROL_OR_NEWLINE.search(value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters other than tab and newline")
    return value


def _iso_date_or_datetime(value: str) -> str:
    try:
        if not _EXTENDED_DATE.fullmatch(value):
            raise ValueError(value)
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD) or datetime") from None
    return value


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_single_line)]
Description = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_multi_line)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_single_line)
]
EventDate = Annotated[str, StringConstraints(min_length=10, max_length=40), AfterValidator(_iso_date_or_datetime)]
EventStatus = Literal["draft", "scheduled", "active", "cancelled", "completed"]
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY)]

"""Field types shared by the request models: strict, bounded, free of control characters.

Each rule is written once, as a regular expression that the validator applies and the OpenAPI
document publishes (`pattern`), so that a value the document accepts is a value the API accepts.
The patterns use only what JSON Schema (ECMA-262), Python's `re` and pydantic's Rust engine read
alike: anchors, character classes with `\\x`/`\\u` escapes, `[0-9]` (Python's `\\d` would take
other scripts' digits), no lookaround."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

ID_PATTERN = r"^[A-Za-z0-9._@:-]{1,64}$"
EVENT_STATUSES = ("draft", "scheduled", "active", "cancelled", "completed")
OPEN_STATUSES = ("scheduled", "active")
READ_ONLY_EVENT_FIELDS = frozenset({"createdAt", "updatedAt", "registeredCount", "waitlistCount"})
MAX_CAPACITY = 1_000_000

# C0, DEL and C1 (U+0080-U+009F: NEL, the 8-bit CSI of terminal escapes, …): every Unicode Cc.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_CONTROL_BUT_TAB_AND_NEWLINE = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
# What str.strip() removes (every character for which str.isspace() is true; a unit test keeps the
# two equal). Spelled out because `\s` means something else in each regex engine.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE = r"\t\n\x0b-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

SINGLE_LINE_PATTERN = rf"^[^{_CONTROL}]*$"
MULTI_LINE_PATTERN = rf"^[^{_CONTROL_BUT_TAB_AND_NEWLINE}]*$"
# 1-200 characters once leading and trailing whitespace is trimmed, none of them a control character.
NAME_PATTERN = (
    rf"^[{_WHITESPACE}]*[^{_WHITESPACE}{_CONTROL}]"
    rf"(?:[^{_CONTROL}]{{0,198}}[^{_WHITESPACE}{_CONTROL}])?[{_WHITESPACE}]*$"
)


def _date_pattern() -> str:
    """YYYY-MM-DD of a day that exists (years 0001-9999, leap years included), as a regex."""
    year = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
    leap_year = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
    month_day = (
        r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    )
    return rf"(?:{year}-{month_day}|{leap_year}-02-29)"


_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
# An ISO 8601 / RFC 3339 date, or a date and time (minutes at least, up to microseconds), with an
# optional UTC offset.
EVENT_DATE_PATTERN = rf"^{_date_pattern()}(?:T{_TIME}{_OFFSET}?)?$"

_SINGLE_LINE = re.compile(SINGLE_LINE_PATTERN)
_MULTI_LINE = re.compile(MULTI_LINE_PATTERN)
_EVENT_DATE = re.compile(EVENT_DATE_PATTERN)


def _single_line(value: str) -> str:
    if not _SINGLE_LINE.fullmatch(value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    if not _MULTI_LINE.fullmatch(value):
        raise ValueError("must not contain control characters other than tab and newline")
    return value


def _trimmed_name(value: str) -> str:
    # pydantic has trimmed Unicode White_Space; str.strip() also takes \x1c-\x1f, which
    # WHITESPACE (and so the published pattern) counts too.
    value = value.strip()
    if not 1 <= len(value) <= 200:
        raise ValueError("must be 1-200 characters once leading and trailing whitespace is trimmed")
    return _single_line(value)


def _iso_date_or_datetime(value: str) -> str:
    if not _EVENT_DATE.fullmatch(value):
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD) or datetime (YYYY-MM-DDThh:mm[:ss[.ffffff]][Z|±hh:mm])")
    return value


def _pattern(pattern: str) -> Field:  # type: ignore[valid-type]
    """Publishes `pattern` in the JSON schema; the validator next to it enforces it, with a message
    that says what is wrong rather than quoting the regex."""
    return Field(json_schema_extra={"pattern": pattern})


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_single_line), _pattern(SINGLE_LINE_PATTERN)
]
Description = Annotated[
    str, StringConstraints(max_length=2000), AfterValidator(_multi_line), _pattern(MULTI_LINE_PATTERN)
]
# The length is checked by the validator, not by StringConstraints: those would publish bounds that
# hold after trimming only as bounds on what a client sends.
Name = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_trimmed_name), _pattern(NAME_PATTERN)]
EventDate = Annotated[str, AfterValidator(_iso_date_or_datetime), _pattern(EVENT_DATE_PATTERN)]
EventStatus = Literal["draft", "scheduled", "active", "cancelled", "completed"]
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY)]

"""Request models: strict types, no unknown or read-only fields, trimmed names, the identifier rule,
no control characters, ISO dates. Each rejection must name the field at fault."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.models.fields import (
    EVENT_DATE_PATTERN,
    MAX_CAPACITY,
    MULTI_LINE_PATTERN,
    NAME_PATTERN,
    READ_ONLY_EVENT_FIELDS,
    SINGLE_LINE_PATTERN,
    WHITESPACE,
)
from shared.models.requests import EventCreate, EventUpdate, RegistrationCreate, UserCreate

EVENT = {"title": "Talk", "date": "2026-12-01", "location": "Hall", "organizer": "Org"}
READ_ONLY = sorted(READ_ONLY_EVENT_FIELDS)
# Whitespace of every kind, control characters, and a few ordinary letters to put between them.
TRICKY = st.sampled_from(
    [*WHITESPACE, *map(chr, range(0x20)), "\x7f", "\x80", "\x9b", "\ufeff", "\u200b", "a", "Z", "é", "日"]
)


def reject(model: type[BaseModel], data: Any, field: str) -> None:
    """Validation fails, and the error names `field` (in its location or its message)."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    named = [e for e in caught.value.errors() if field in e["loc"] or field in str(e["msg"])]
    assert named, caught.value.errors()


def test_read_only_fields_are_exactly_those_of_the_spec() -> None:
    assert frozenset({"createdAt", "updatedAt", "registeredCount", "waitlistCount"}) == READ_ONLY_EVENT_FIELDS


class TestEventCreate:
    def test_defaults(self) -> None:
        event = EventCreate.model_validate(EVENT)
        assert event.eventId is None
        assert event.description == ""
        assert event.status == "active"
        assert event.capacity is None
        assert event.waitlistEnabled is False

    def test_all_fields(self) -> None:
        data = {
            **EVENT,
            "eventId": "evt-1",
            "description": "Two\nlines\tand a tab",
            "status": "scheduled",
            "capacity": MAX_CAPACITY,
            "waitlistEnabled": True,
        }
        assert EventCreate.model_validate(data).model_dump() == data

    @pytest.mark.parametrize("value", ["5", True, False, 5.0, 5.5, "", [5], {"n": 5}])
    def test_capacity_must_be_a_real_integer(self, value: Any) -> None:
        reject(EventCreate, {**EVENT, "capacity": value}, "capacity")

    @pytest.mark.parametrize("value", [0, -1, MAX_CAPACITY + 1, 2**64])
    def test_capacity_must_be_at_least_one(self, value: int) -> None:
        reject(EventCreate, {**EVENT, "capacity": value}, "capacity")

    @pytest.mark.parametrize("value", [1, 2, MAX_CAPACITY, None])
    def test_capacity_accepted(self, value: int | None) -> None:
        assert EventCreate.model_validate({**EVENT, "capacity": value}).capacity == value

    @pytest.mark.parametrize("value", ["yes", "true", "false", 1, 0, None, "True"])
    def test_waitlist_enabled_must_be_a_boolean(self, value: Any) -> None:
        reject(EventCreate, {**EVENT, "waitlistEnabled": value}, "waitlistEnabled")

    @pytest.mark.parametrize("field", ["title", "location", "organizer", "description", "date", "status", "eventId"])
    @pytest.mark.parametrize("value", [123, 1.5, True, ["x"], {"x": 1}])
    def test_strings_must_be_strings(self, field: str, value: Any) -> None:
        reject(EventCreate, {**EVENT, field: value}, field)

    @pytest.mark.parametrize("field", ["title", "location", "organizer"])
    def test_single_line_text_is_1_to_200_characters(self, field: str) -> None:
        assert getattr(EventCreate.model_validate({**EVENT, field: "x" * 200}), field) == "x" * 200
        reject(EventCreate, {**EVENT, field: "x" * 201}, field)
        reject(EventCreate, {**EVENT, field: ""}, field)

    def test_description_is_0_to_2000_characters(self) -> None:
        assert EventCreate.model_validate({**EVENT, "description": ""}).description == ""
        assert len(EventCreate.model_validate({**EVENT, "description": "x" * 2000}).description) == 2000
        reject(EventCreate, {**EVENT, "description": "x" * 2001}, "description")

    @pytest.mark.parametrize("field", ["title", "location", "organizer"])
    @pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\n", "\r", "\t", "\x80", "\x85", "\x9b", "\x9f"])
    def test_single_line_text_rejects_control_characters(self, field: str, char: str) -> None:
        reject(EventCreate, {**EVENT, field: f"a{char}b"}, field)

    @pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x1f", "\x7f", "\x85", "\x9b"])
    def test_description_rejects_control_characters_but_tab_and_newline(self, char: str) -> None:
        reject(EventCreate, {**EVENT, "description": f"a{char}b"}, "description")

    @pytest.mark.parametrize("status", ["draft", "scheduled", "active", "cancelled", "completed"])
    def test_every_status(self, status: str) -> None:
        assert EventCreate.model_validate({**EVENT, "status": status}).status == status

    @pytest.mark.parametrize("status", ["ACTIVE", "Active", "open", "", " active", None])
    def test_status_is_case_sensitive_and_closed(self, status: Any) -> None:
        reject(EventCreate, {**EVENT, "status": status}, "status")

    @pytest.mark.parametrize(
        "date",
        [
            "2026-12-01",
            "2028-02-29",
            "2026-12-01T18:30",
            "2026-12-01T18:30:00",
            "2026-12-01T18:30:00Z",
            "2026-12-01T18:30:00.123456+00:00",
            "2026-12-01T18:30:00-05:00",
        ],
    )
    def test_iso_date_or_datetime(self, date: str) -> None:
        assert EventCreate.model_validate({**EVENT, "date": date}).date == date

    @pytest.mark.parametrize(
        "date",
        [
            "",
            "2026-13-01",
            "2026-02-30",
            "2027-02-29",
            "2026-1-1",
            "01/12/2026",
            "12/01/2026",
            "tomorrow",
            "2026-12-01T25:00",
            "2026-12-01Tnoon",
            "2026-12-01T",
            "2026-W49-2",
            "2026-335",
            "20261201",
            "20261201T1830",
            "2026-12-01 18:30",
            "\uff12\uff10\uff12\uff16-\uff11\uff12-\uff10\uff11",  # full-width digits
            "2026-12-01T18:30:00" + "0" * 40,
        ],
    )
    def test_not_an_iso_date_or_datetime(self, date: str) -> None:
        reject(EventCreate, {**EVENT, "date": date}, "date")

    @pytest.mark.parametrize("field", READ_ONLY)
    def test_read_only_fields_are_rejected_by_name(self, field: str) -> None:
        reject(EventCreate, {**EVENT, field: 0 if field.endswith("Count") else "2026-01-01T00:00:00+00:00"}, field)

    @pytest.mark.parametrize("field", ["id", "eventid", "EventId", "owner", "__class__", "deleting", "waitlistSeq"])
    def test_unknown_fields_are_rejected_by_name(self, field: str) -> None:
        reject(EventCreate, {**EVENT, field: "x"}, field)

    @pytest.mark.parametrize("field", ["title", "date", "location", "organizer"])
    def test_required_fields(self, field: str) -> None:
        data = dict(EVENT)
        del data[field]
        reject(EventCreate, data, field)


VALID_IDS = ["a", "Z", "0", "x" * 64, "A-z_0.9@host:port", "user@example.com", "urn:x:1", "..", "-_-"]
INVALID_IDS = [
    "",
    "x" * 65,
    "has space",
    " lead",
    "trail ",
    "a#b",
    "a/b",
    "a?b",
    "a%20b",
    "a+b",
    "é",
    "ü",
    "日本",
    "a\x00b",
    "abc\n",
    "\nabc",
    "a\tb",
    "a\x7f",
    'a"b',
    "a'b",
    "a,b",
    "a;b",
]


class TestIdentifiers:
    @pytest.mark.parametrize("value", VALID_IDS)
    @pytest.mark.parametrize(
        ("model", "field", "base"),
        [(EventCreate, "eventId", EVENT), (UserCreate, "userId", {"name": "Ada"}), (RegistrationCreate, "userId", {})],
    )
    def test_valid(self, model: type[BaseModel], field: str, base: dict[str, Any], value: str) -> None:
        assert getattr(model.model_validate({**base, field: value}), field) == value

    @pytest.mark.parametrize("value", [*INVALID_IDS, 5, None, True])
    @pytest.mark.parametrize(
        ("model", "field", "base"),
        [(EventCreate, "eventId", EVENT), (UserCreate, "userId", {"name": "Ada"}), (RegistrationCreate, "userId", {})],
    )
    def test_invalid(self, model: type[BaseModel], field: str, base: dict[str, Any], value: Any) -> None:
        if value is None and model is not RegistrationCreate:
            return  # an explicit null means "generate one", like leaving it out
        reject(model, {**base, field: value}, field)


class TestEventUpdate:
    def test_changes_are_only_the_fields_given(self) -> None:
        update = EventUpdate.model_validate({"title": "New", "capacity": 3})
        assert update.changes() == {"title": "New", "capacity": 3}

    def test_null_capacity_removes_the_limit(self) -> None:
        assert EventUpdate.model_validate({"capacity": None}).changes() == {"capacity": None}

    def test_empty_body_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="at least one field"):
            EventUpdate.model_validate({})

    @pytest.mark.parametrize(
        "field", ["title", "description", "date", "location", "organizer", "status", "waitlistEnabled"]
    )
    def test_null_is_only_allowed_for_capacity(self, field: str) -> None:
        reject(EventUpdate, {field: None}, field)

    @pytest.mark.parametrize("field", READ_ONLY)
    def test_read_only_fields_are_rejected_by_name(self, field: str) -> None:
        reject(EventUpdate, {"title": "ok", field: 1}, field)

    @pytest.mark.parametrize("field", ["eventId", "unknown"])
    def test_unknown_fields_are_rejected(self, field: str) -> None:
        reject(EventUpdate, {"title": "ok", field: "x"}, field)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("capacity", "5"),
            ("capacity", True),
            ("capacity", 5.0),
            ("capacity", 0),
            ("waitlistEnabled", "yes"),
            ("waitlistEnabled", 1),
            ("title", 123),
            ("title", ""),
            ("status", "ACTIVE"),
            ("date", "2026-02-30"),
            ("description", "x" * 2001),
            ("organizer", "a\x00b"),
        ],
    )
    def test_same_rules_as_create(self, field: str, value: Any) -> None:
        reject(EventUpdate, {field: value}, field)


class TestUserCreate:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("Ada", "Ada"),
            ("  Ada  ", "Ada"),
            ("\tAda\n", "Ada"),
            ("Ada  Lovelace", "Ada  Lovelace"),
            (" " + "x" * 200 + " ", "x" * 200),
        ],
    )
    def test_name_is_trimmed(self, given: str, stored: str) -> None:
        assert UserCreate.model_validate({"name": given}).name == stored

    @pytest.mark.parametrize(
        "name", ["", " ", "   ", "\t\n", "x" * 201, "Ada\x00", "Ada\nLovelace", "\x7f", "Ada\x85Lovelace", "\x9b"]
    )
    def test_name_rejected(self, name: str) -> None:
        reject(UserCreate, {"name": name}, "name")

    @pytest.mark.parametrize("name", [123, None, True, ["Ada"], {"first": "Ada"}])
    def test_name_must_be_a_string(self, name: Any) -> None:
        reject(UserCreate, {"name": name}, "name")

    def test_name_is_required(self) -> None:
        reject(UserCreate, {"userId": "u1"}, "name")

    @pytest.mark.parametrize("field", [*READ_ONLY, "email", "role", "isAdmin"])
    def test_unknown_or_read_only_fields_are_rejected_by_name(self, field: str) -> None:
        reject(UserCreate, {"name": "Ada", field: "x"}, field)


class TestRegistrationCreate:
    def test_user_id_may_be_omitted_but_not_null(self) -> None:
        # Omitted: the caller registers themselves (authentication on); null is still a 400.
        assert RegistrationCreate.model_validate({}).userId is None
        reject(RegistrationCreate, {"userId": None}, "userId")

    @pytest.mark.parametrize("field", ["status", "position", *READ_ONLY])
    def test_nothing_else_is_accepted(self, field: str) -> None:
        reject(RegistrationCreate, {"userId": "u1", field: "x"}, field)


class TestPublishedPatternsAreTheRules:
    """openapi.json publishes these patterns; a value matches one exactly when the model accepts it,
    so a request valid against the document is a request the API accepts, and the other way round."""

    def test_whitespace_is_what_str_strip_removes(self) -> None:
        assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == WHITESPACE

    @staticmethod
    def accepts(model: type[BaseModel], data: dict[str, Any]) -> bool:
        try:
            model.model_validate(data)
        except ValidationError:
            return False
        return True

    @given(st.text(alphabet=TRICKY, max_size=210) | st.text(max_size=5))
    def test_name(self, name: str) -> None:
        assert bool(re.fullmatch(NAME_PATTERN, name)) == self.accepts(UserCreate, {"name": name})

    @given(st.text(alphabet=TRICKY, min_size=1, max_size=200))
    def test_single_line_text(self, text: str) -> None:
        assert bool(re.fullmatch(SINGLE_LINE_PATTERN, text)) == self.accepts(EventCreate, {**EVENT, "title": text})

    @given(st.text(alphabet=TRICKY, max_size=2000))
    def test_multi_line_text(self, text: str) -> None:
        matches = bool(re.fullmatch(MULTI_LINE_PATTERN, text))
        assert matches == self.accepts(EventCreate, {**EVENT, "description": text})

    def test_date_pattern_takes_exactly_the_days_that_exist(self) -> None:
        month_days = [(1, 31), (1, 32), (2, 28), (2, 29), (2, 30), (4, 30), (4, 31), (12, 31), (13, 1), (0, 1), (1, 0)]
        for year in range(10000):
            for month, day in month_days:
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    exists = bool(date.fromisoformat(text))
                except ValueError:
                    exists = False
                assert bool(re.fullmatch(EVENT_DATE_PATTERN, text)) == exists, text

    @given(st.datetimes(), st.sampled_from(["", "Z", "+00:00", "-05:30", "+23:59"]), st.integers(0, 3))
    def test_datetimes_within_the_pattern_are_real_datetimes(self, moment: datetime, offset: str, part: int) -> None:
        spec = ["minutes", "seconds", "milliseconds", "microseconds"][part]
        text = moment.isoformat(timespec=spec) + offset
        assert re.fullmatch(EVENT_DATE_PATTERN, text), text
        assert datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert self.accepts(EventCreate, {**EVENT, "date": text})

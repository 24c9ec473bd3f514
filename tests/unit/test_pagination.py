"""Page tokens: opaque, url-safe, bound to their list, and tamper-evident down to a single character."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from shared.api.pagination import _signature, decode_token, encode_token
from shared.config import get_settings
from shared.errors import InvalidRequestError

SCOPE = "events?status=None"
CURSOR = {"eventId": {"S": "evt-1"}}
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def rejected(scope: str, token: str) -> bool:
    with pytest.raises(InvalidRequestError) as caught:
        decode_token(scope, token)
    assert caught.value.status == 400
    assert "nextToken" in caught.value.detail
    return True


def test_round_trip() -> None:
    cursor = {"eventId": {"S": "evt-1"}, "status": {"S": "active"}, "createdAt": {"S": "2026-01-01T00:00:00+00:00"}}
    assert decode_token("events?status=active", encode_token("events?status=active", cursor)) == cursor


def test_no_token_means_the_first_page() -> None:
    assert decode_token(SCOPE, None) is None


def test_token_is_url_safe_without_padding() -> None:
    for length in range(1, 8):
        token = encode_token(SCOPE, {"eventId": {"S": "x" * length}})
        assert set(token) <= URL_SAFE, token


def test_token_does_not_show_the_cursor_in_clear() -> None:
    assert "evt-1" not in encode_token(SCOPE, CURSOR)


@pytest.mark.parametrize("other", ["events?status=active", "events?status=draft", "events/e1/registrations", ""])
def test_token_from_another_list_is_rejected(other: str) -> None:
    assert rejected(other, encode_token(SCOPE, CURSOR))


def test_token_signed_with_another_secret_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    token = encode_token(SCOPE, CURSOR)
    monkeypatch.setenv("PAGINATION_SECRET", "another-stage-secret-of-at-least-32-bytes")
    get_settings.cache_clear()
    assert rejected(SCOPE, token)


@pytest.mark.parametrize("length", range(1, 7))
def test_every_single_character_edit_is_rejected(length: int) -> None:
    # Cursors of six lengths cover every base64 tail, including those whose last character has spare bits.
    token = encode_token(SCOPE, {"eventId": {"S": "x" * length}})
    alphabet = sorted(URL_SAFE)
    for index, char in enumerate(token):
        for replacement in alphabet:
            if replacement != char:
                edited = token[:index] + replacement + token[index + 1 :]
                assert rejected(SCOPE, edited), (index, replacement)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t[:-1],
        lambda t: t[:-4],
        lambda t: t[1:],
        lambda t: t + "A",
        lambda t: t + "=",
        lambda t: t + "==",
        lambda t: t[:5] + "!" + t[5:],
        lambda t: t[:5] + "\n" + t[5:],
        lambda t: t[:5] + "=" + t[5:],
        lambda t: base64.b64encode(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))).decode(),
        lambda t: t.upper(),
    ],
)
def test_truncated_extended_or_re_encoded_token_is_rejected(edit: object) -> None:
    # A cursor whose encoding uses '-' or '_', so that re-encoding with the standard alphabet differs.
    token = next(t for n in range(200) if {"-", "_"} & set(t := encode_token(SCOPE, {"n": n})))
    edited = edit(token)  # type: ignore[operator]
    assert edited != token
    assert rejected(SCOPE, edited)


@pytest.mark.parametrize("garbage", ["", "a", "abc", "!!!!", "☃", "a" * 40, "eyJldmVudElkIjoieCJ9", "A" * 4096])
def test_garbage_is_rejected(garbage: str) -> None:
    assert rejected(SCOPE, garbage)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"null", b"7"])
def test_correctly_signed_payload_that_is_not_an_object_is_rejected(payload: bytes) -> None:
    token = base64.urlsafe_b64encode(_signature(SCOPE, payload) + payload).decode().rstrip("=")
    assert rejected(SCOPE, token)


def test_payload_is_the_canonical_cursor_json() -> None:
    token = encode_token(SCOPE, {"b": 1, "a": 2})
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert json.loads(raw[16:]) == {"a": 2, "b": 1}

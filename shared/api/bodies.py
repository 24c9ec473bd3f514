"""JSON request bodies as Python reads them, without its limits turning into 500s or its choices
into silent ones: an integer beyond Python's digit limit for int() (4,300 by default), the
non-standard NaN / Infinity literals and a name given twice in one object (Python would keep the
last value, another parser the first) are kept as markers, which request validation reports as a
400 naming the field."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any


class Unreadable:
    """A JSON value the API cannot take, in place of the value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<{self.reason}>"


def _integer(text: str) -> int | Unreadable:
    try:
        return int(text)
    except ValueError:
        return Unreadable(f"number has too many digits ({len(text.lstrip('-'))})")


def _constant(text: str) -> Unreadable:
    return Unreadable(f"{text} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) < len(pairs):
        for name, count in Counter(name for name, _ in pairs).items():
            if count > 1:
                body[name] = Unreadable("appears more than once in the object")
    return body


def loads(document: str | bytes | bytearray) -> Any:
    return json.loads(document, parse_int=_integer, parse_constant=_constant, object_pairs_hook=_object)


def unreadable_values(body: Any) -> Iterator[tuple[tuple[str | int, ...], Unreadable]]:
    """Where the markers are (iteratively: a body may nest about a thousand levels)."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), body)]
    while pending:
        location, value = pending.pop()
        if isinstance(value, Unreadable):
            yield location, value
        elif isinstance(value, dict):
            pending.extend(((*location, key), item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend(((*location, index), item) for index, item in enumerate(value))

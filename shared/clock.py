"""Timestamps: ISO 8601 UTC with microseconds, so that they sort as strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc_now_series(count: int) -> list[str]:
    """`count` timestamps from now, one microsecond apart: things done together in one write that
    must still sort in the order they were done (a batch of promotions, in queue order)."""
    now = datetime.now(UTC)
    return [(now + timedelta(microseconds=n)).isoformat(timespec="microseconds") for n in range(count)]

"""Timestamps: ISO 8601 UTC with microseconds, so that they sort as strings."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")

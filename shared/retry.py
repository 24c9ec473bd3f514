"""Backoff between attempts: the one jitter every retry loop of the project sleeps with, whether
it retries a busy DynamoDB transaction (shared/repositories/failures.py) or a registration that
lost a race (shared/managers/registrations.py). No AWS here: managers use it too."""

from __future__ import annotations

import random
import time


def backoff(attempt: int, base: float = 0.005, cap: float = 0.2) -> None:
    """Full-jitter exponential backoff: sleeps up to min(cap, base * 2**attempt) seconds."""
    time.sleep(random.uniform(0, min(cap, base * (2**attempt))))

"""Backoff between attempts: the one jitter every retry of the project waits with, whether it
retries a busy DynamoDB transaction or an item conflict (shared/repositories/failures.py) or a
registration that lost a race (shared/managers/registrations.py). No AWS here: managers use it too."""

from __future__ import annotations

import random
import time


def jitter(attempt: int, base: float = 0.005, cap: float = 0.2) -> float:
    """Full-jitter exponential delay: up to min(cap, base * 2**attempt) seconds."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def backoff(attempt: int, base: float = 0.005, cap: float = 0.2) -> None:
    """Sleeps the full-jitter delay of `attempt`."""
    time.sleep(jitter(attempt, base, cap))

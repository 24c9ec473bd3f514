"""PromotionManager: what the Registrations stream asks for. A freed seat goes to the waitlist
(through the waitlist's own promotion path); a committed promotion is announced on EventBridge."""

from __future__ import annotations

from functools import cache

from shared.managers.waitlist import WaitlistManager
from shared.repositories.notifications import PromotionPublisher


class PromotionManager:
    def __init__(self, waitlist: WaitlistManager, publisher: PromotionPublisher) -> None:
        self._waitlist = waitlist
        self.publisher = publisher

    def seat_freed(self, event_id: str) -> list[str]:
        """Promotes in FIFO order while seats are free; returns who was promoted."""
        return self._waitlist.promote_all(event_id)

    def announce(self, event_id: str, user_id: str, promoted_at: str) -> bool:
        """Publishes RegistrationPromoted; False when no bus is configured."""
        return self.publisher.publish(event_id, user_id, promoted_at)


@cache
def default() -> PromotionManager:
    from shared.managers import waitlist

    return PromotionManager(waitlist.default(), PromotionPublisher())

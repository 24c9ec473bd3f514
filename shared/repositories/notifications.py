"""Domain events on EventBridge, so that e-mail or push notifications can subscribe without
touching this code."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from shared.config import get_settings

SOURCE = "event-registrations"
REGISTRATION_PROMOTED = "RegistrationPromoted"


@cache
def get_events_client() -> Any:
    from botocore.config import Config

    from shared.repositories.clients import session

    settings = get_settings()
    return session().client(
        "events",
        region_name=settings.region,
        endpoint_url=settings.eventbridge_endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10),
    )


class PublishError(RuntimeError):
    """EventBridge refused an entry: the stream record fails and Lambda delivers it again."""


class PromotionPublisher:
    def __init__(self, client: Any = None, bus_name: str | None = None) -> None:
        self._client = client
        self._bus_name = bus_name or get_settings().event_bus_name

    def publish(self, event_id: str, user_id: str, promoted_at: str) -> bool:
        """Publishes RegistrationPromoted; False when no bus is configured."""
        if not self._bus_name:
            return False
        client = self._client or get_events_client()
        response = client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": REGISTRATION_PROMOTED,
                    "Detail": json.dumps({"eventId": event_id, "userId": user_id, "promotedAt": promoted_at}),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise PublishError(f"EventBridge refused RegistrationPromoted: {response['Entries']}")
        return True

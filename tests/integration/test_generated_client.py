"""openapi.json is usable by the tools clients use: openapi-python-client (a maintained generator)
turns it into a typed Python client, generated into a temporary directory at test time and never
committed, and that client alone drives the main flow against the local stack: create an event,
create users, register, list, unregister, watch the waitlist move up."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.config import ROOT
from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration

PACKAGE = "event_registrations_client"
PROMOTION_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("generated-client")
    config = out / "config.yaml"
    # The generator would run `ruff format` on its output; how it looks is not what is tested here.
    config.write_text("post_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(ROOT / "openapi.json"),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Warnings would mean parts of the document the generator could not turn into code.
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.default.{name}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def test_the_generated_client_drives_the_main_flow(generated: ModuleType, local_stack: LocalStack) -> None:
    m = models()
    suffix = uuid.uuid4().hex[:8]
    with generated.Client(base_url=local_stack.base_url, raise_on_unexpected_status=True, timeout=20.0) as client:
        # Given an event with one seat and a waitlist
        launch = m.EventCreate(
            title="Client launch",
            date="2031-05-04T18:30:00Z",
            location="Hall A",
            organizer="Ada",
            capacity=1,
            waitlist_enabled=True,
        )
        # The key is a header of its own client (with_headers would also change the open client's)
        keyed = generated.Client(
            base_url=local_stack.base_url, timeout=20.0, headers={"Idempotency-Key": f"client-{suffix}"}
        )
        created = api("create_event").sync_detailed(client=keyed, body=launch)
        assert created.status_code == 201
        event = created.parsed
        assert isinstance(event, m.Event)
        assert (event.capacity, event.registered_count, event.status) == (1, 0, m.EventStatus.ACTIVE)
        replayed = api("create_event").sync_detailed(client=keyed, body=launch)
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.parsed.event_id == event.event_id

        # And two users
        ada = api("create_user").sync(client=client, body=m.UserCreate(name="  Ada Lovelace ", user_id=f"ada-{suffix}"))
        bob = api("create_user").sync(client=client, body=m.UserCreate(name="Bob"))
        assert isinstance(ada, m.User) and isinstance(bob, m.User)
        assert ada.name == "Ada Lovelace"
        assert api("get_user").sync(bob.user_id, client=client).name == "Bob"

        # When both register: Ada takes the seat, Bob waits
        first = api("register").sync(event.event_id, client=client, body=m.RegistrationCreate(user_id=ada.user_id))
        second = api("register").sync(event.event_id, client=client, body=m.RegistrationCreate(user_id=bob.user_id))
        assert isinstance(first, m.Confirmed)
        assert isinstance(second, m.Waitlisted)
        assert second.position == 1

        # Then the lists say so, typed
        attendees = api("list_event_registrations").sync(event.event_id, client=client)
        assert [(a.user_id, a.name) for a in attendees] == [(ada.user_id, "Ada Lovelace")]
        waiting = api("list_event_waitlist").sync(event.event_id, client=client)
        assert [(w.user_id, w.position) for w in waiting] == [(bob.user_id, 1)]
        [ada_event] = api("list_user_registrations").sync(ada.user_id, client=client)
        assert isinstance(ada_event, m.UserRegistration) and ada_event.event_id == event.event_id
        [bob_event] = api("list_user_waitlist").sync(bob.user_id, client=client)
        assert isinstance(bob_event, m.UserWaitlistEntry) and bob_event.position == 1

        # A full event without room left refuses with a typed error
        carol = api("create_user").sync(client=client, body=m.UserCreate(name="Carol"))
        full = api("update_event").sync(event.event_id, client=client, body=m.EventUpdate(waitlist_enabled=False))
        assert full.waitlist_enabled is False
        refused = api("register").sync_detailed(
            event.event_id, client=client, body=m.RegistrationCreate(user_id=carol.user_id)
        )
        assert refused.status_code == 409
        assert isinstance(refused.parsed, m.Error) and refused.parsed.detail == "Event is full"

        # When Ada unregisters, Bob moves up (asynchronously, from the stream)
        message = api("unregister").sync(event.event_id, ada.user_id, client=client)
        assert isinstance(message, m.Message)
        deadline = time.monotonic() + PROMOTION_TIMEOUT
        while True:
            attendees = api("list_event_registrations").sync(event.event_id, client=client)
            if [a.user_id for a in attendees] == [bob.user_id] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [a.user_id for a in attendees] == [bob.user_id]
        assert api("list_event_waitlist").sync(event.event_id, client=client) == []
        assert api("list_user_waitlist").sync(bob.user_id, client=client) == []

        # And paging works through the documented header (two events exist at least)
        api("create_event").sync(
            client=client,
            body=m.EventCreate(title="Second", date="2031-05-05", location="Hall B", organizer="Bob"),
        )
        page = api("list_events").sync_detailed(client=client, limit=1)
        assert len(page.parsed) == 1
        token = page.headers["X-Next-Token"]
        assert len(api("list_events").sync(client=client, limit=1, next_token=token)) == 1

        # Finally the event goes, and the client sees the documented 404
        assert isinstance(api("delete_event").sync(event.event_id, client=client), m.Message)
        gone = api("get_event").sync_detailed(event.event_id, client=client)
        assert gone.status_code == 404 and isinstance(gone.parsed, m.Error)

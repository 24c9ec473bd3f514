"""A stateful model of one event: Hypothesis interleaves user creation, registrations,
unregistrations, promotions and capacity changes, and after every step the stored state must
match the model and satisfy every invariant of SPEC.md."""

from __future__ import annotations

import uuid

import boto3
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws

from local import config
from local.dynamodb import install_fast_transactions
from shared.managers import admission, waitlist
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import reset_process_caches
from tests.invariants import check_invariants


class RegistrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        install_fast_transactions()
        self.mock = mock_aws()
        self.mock.start()
        reset_process_caches()
        config.create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        self.api = ApiClient()
        self.event_id = f"sm-{uuid.uuid4().hex[:8]}"
        self.capacity: int | None = 2
        self.waitlist_enabled = True
        body = {
            "eventId": self.event_id,
            "title": "T",
            "date": "2026-12-01",
            "location": "L",
            "organizer": "O",
            "capacity": self.capacity,
            "waitlistEnabled": True,
        }
        assert self.api.post("/events", body).status == 201
        self.users: list[str] = []
        self.confirmed: list[str] = []
        self.waiting: list[str] = []

    def teardown(self) -> None:
        self.mock.stop()
        reset_process_caches()

    def _has_seat(self) -> bool:
        return self.capacity is None or len(self.confirmed) < self.capacity

    def _promote_model(self) -> None:
        while self._has_seat() and self.waiting:
            self.confirmed.append(self.waiting.pop(0))

    @rule()
    def create_user(self) -> None:
        user_id = f"u{len(self.users)}"
        assert self.api.post("/users", {"userId": user_id, "name": "N"}).status == 201
        self.users.append(user_id)

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        user_id = data.draw(st.sampled_from(self.users))
        response = self.api.post(f"/events/{self.event_id}/registrations", {"userId": user_id})
        if user_id in self.confirmed or user_id in self.waiting:
            assert response.status == 409
        elif self._has_seat() and not self.waiting:
            assert (response.status, response.body["status"]) == (201, "confirmed")
            self.confirmed.append(user_id)
        elif self.waitlist_enabled:
            assert (response.status, response.body["status"]) == (201, "waitlisted")
            self.waiting.append(user_id)
            assert response.body["position"] == len(self.waiting)
        else:
            assert response.status == 409 and response.body == {"detail": "Event is full"}

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def unregister(self, data: st.DataObject) -> None:
        user_id = data.draw(st.sampled_from(self.users))
        response = self.api.delete(f"/events/{self.event_id}/registrations/{user_id}")
        if user_id in self.confirmed:
            assert response.status == 200
            self.confirmed.remove(user_id)
        elif user_id in self.waiting:
            assert response.status == 200
            self.waiting.remove(user_id)
        else:
            assert response.status == 404

    @rule()
    def promote(self) -> None:
        """What the stream handler does after an unregistration."""
        waitlist.default().promote_all(self.event_id)
        self._promote_model()

    @rule(capacity=st.one_of(st.none(), st.integers(1, 6)))
    def change_capacity(self, capacity: int | None) -> None:
        response = self.api.put(f"/events/{self.event_id}", {"capacity": capacity})
        if capacity is not None and capacity < len(self.confirmed):
            assert response.status == 409
            return
        assert response.status == 200
        self.capacity = capacity
        # Nobody moves up in the PUT itself: the eventChanges function promotes from the Events
        # stream afterwards (the `promote` rule), and until then a newcomer still queues behind
        # whoever waits (docs/data-model.md, "update event").

    @rule()
    def heat(self) -> None:
        """The event turns hot for this process: registrations go through admission
        (shared/managers/admission.py) for a while, and must get exactly the same answers."""
        admission.mark_hot(self.event_id)

    @rule()
    def cool(self) -> None:
        admission.reset()

    @rule(enabled=st.booleans())
    def toggle_waitlist(self, enabled: bool) -> None:
        assert self.api.put(f"/events/{self.event_id}", {"waitlistEnabled": enabled}).status == 200
        self.waitlist_enabled = enabled

    @invariant()
    def stored_state_matches_the_model(self) -> None:
        state = check_invariants(get_client(), self.event_id)
        assert sorted(r["userId"] for r in state["confirmed"]) == sorted(self.confirmed)
        assert [w["userId"] for w in state["waitlist"]] == self.waiting
        listed = self.api.get(f"/events/{self.event_id}/waitlist").body
        assert [(w["userId"], w["position"]) for w in listed] == [(u, n) for n, u in enumerate(self.waiting, 1)]


RegistrationMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestRegistrationMachine = RegistrationMachine.TestCase

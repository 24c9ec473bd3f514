"""Correctness properties of the design, each over at least 100 generated examples."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.managers import waitlist
from tests.builders import ApiClient
from tests.helpers import make_event, make_users, register, uid
from tests.invariants import check_invariants

EXAMPLES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


names = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=0, max_size=210)


@EXAMPLES
@given(name=names)
def test_user_creation_stores_the_trimmed_name_or_says_why_not(api: ApiClient, name: str) -> None:
    user_id = uid("u")
    response = api.post("/users", {"userId": user_id, "name": name})
    trimmed = name.strip()
    if 1 <= len(trimmed) <= 200:
        assert response.status == 201 and response.body["name"] == trimmed
        assert api.get(f"/users/{user_id}").body["name"] == trimmed
    else:
        assert response.status == 400 and "name" in response.body["detail"]
        assert api.get(f"/users/{user_id}").status == 404


@EXAMPLES
@given(capacity=st.integers(1, 5), people=st.integers(0, 8))
def test_capacity_is_never_exceeded_and_the_rest_hear_event_is_full(api: ApiClient, capacity: int, people: int) -> None:
    event_id = make_event(api, capacity=capacity, waitlistEnabled=False)["eventId"]
    statuses = [register(api, event_id, u).status for u in make_users(api, people)]
    assert statuses == [201] * min(people, capacity) + [409] * max(people - capacity, 0)
    check_invariants(api_client_dynamo(), event_id, quiet=True)


@EXAMPLES
@given(capacity=st.integers(1, 4), people=st.integers(0, 9))
def test_waitlist_positions_follow_join_order(api: ApiClient, capacity: int, people: int) -> None:
    event_id = make_event(api, capacity=capacity, waitlistEnabled=True)["eventId"]
    users = make_users(api, people)
    answers = [register(api, event_id, u).body for u in users]
    waiting = users[capacity:]
    assert [a["status"] for a in answers] == ["confirmed"] * min(people, capacity) + ["waitlisted"] * len(waiting)
    assert [a["position"] for a in answers[capacity:]] == list(range(1, len(waiting) + 1))
    listed = api.get(f"/events/{event_id}/waitlist").body
    assert [(w["userId"], w["position"]) for w in listed] == [(u, n) for n, u in enumerate(waiting, start=1)]


@EXAMPLES
@given(capacity=st.integers(1, 4), extra=st.integers(0, 5), leaving=st.data())
def test_promotion_fills_freed_seats_in_fifo_order(api: ApiClient, capacity: int, extra: int, leaving: Any) -> None:
    event_id = make_event(api, capacity=capacity, waitlistEnabled=True)["eventId"]
    users = make_users(api, capacity + extra)
    for user_id in users:
        register(api, event_id, user_id)
    holders, waiters = users[:capacity], users[capacity:]
    gone = leaving.draw(st.lists(st.sampled_from(holders), unique=True, max_size=capacity))
    for user_id in gone:
        assert api.delete(f"/events/{event_id}/registrations/{user_id}").status == 200

    promoted = waitlist.default().promote_all(event_id)

    assert promoted == waiters[: len(gone)]
    expected = [u for u in holders if u not in gone] + promoted
    assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == expected
    check_invariants(api_client_dynamo(), event_id, quiet=True)


@EXAMPLES
@given(count=st.integers(0, 12), limit=st.integers(1, 5))
def test_pages_list_every_registration_exactly_once(api: ApiClient, count: int, limit: int) -> None:
    event_id = make_event(api, waitlistEnabled=False)["eventId"]
    users = make_users(api, count)
    for user_id in users:
        register(api, event_id, user_id)
    seen: list[str] = []
    token = None
    for _ in range(count + 2):
        query = f"?limit={limit}" + (f"&nextToken={token}" if token else "")
        response = api.get(f"/events/{event_id}/registrations{query}")
        assert response.status == 200 and len(response.body) <= limit
        seen.extend(r["userId"] for r in response.body)
        token = response.headers.get("x-next-token")
        if not token:
            break
    assert seen == users


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@EXAMPLES
@given(body=json_values | st.dictionaries(st.sampled_from(["userId", "extra", "name"]), json_values, max_size=3))
def test_any_body_gets_a_clear_answer_never_a_5xx(api: ApiClient, body: Any) -> None:
    event_id = make_event(api, capacity=2, waitlistEnabled=True)["eventId"]
    response = api.request("POST", f"/events/{event_id}/registrations", raw_body=json.dumps(body))
    assert response.status in (201, 400, 404, 409), response
    if response.status >= 400:
        assert set(response.body) == {"detail"} and isinstance(response.body["detail"], str)
    check_invariants(api_client_dynamo(), event_id)


def api_client_dynamo() -> Any:
    from shared.repositories.dynamo import get_client

    return get_client()

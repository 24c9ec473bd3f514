"""DynamoDB faults on every write path: throttling, transaction conflicts and InternalServerError,
injected at the HTTP layer (botocore's `before-send`, ahead of moto), so botocore's standard
retries and our transaction loop see exactly what DynamoDB would answer. A fault the retries
absorb is invisible to the client; one they cannot absorb is a 429 (throttling, conflicts) or a 503
(DynamoDB's 500s, unreachable, timeouts) with Retry-After, never a 500.
Either way the invariants of SPEC.md hold afterwards, and a later retry finishes the job."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from shared.config import get_settings
from shared.idempotency import HEADER
from shared.managers import admission
from shared.repositories import admission as requests
from shared.repositories import deletion
from shared.repositories.dynamo import get_client
from shared.repositories.failures import MAX_ATTEMPTS
from shared.repositories.transactions import DIRECT_ATTEMPTS
from tests.builders import ApiClient, ApiResponse
from tests.helpers import (
    admission_items,
    delivered,
    delivered_event_changes,
    invoke_event_changes,
    invoke_promotion,
    make_event,
    make_users,
    register,
    uid,
)
from tests.invariants import check_invariants

TRANSACTIONS = 5  # TRANSACTION_ATTEMPTS for these tests: our loop's bound, kept small to keep them fast

# Each kind of fault, as DynamoDB sends it: HTTP status and error code.
THROTTLED = "ProvisionedThroughputExceededException"
THROTTLING = "ThrottlingException"
REQUEST_LIMIT = "RequestLimitExceeded"
INTERNAL = "InternalServerError"
CONFLICT = "conflict"  # TransactionCanceledException [TransactionConflict, None…] / TransactionConflictException
CANCELLED_THROTTLED = "cancelled-throttled"  # TransactionCanceledException [ThrottlingError, None…]
UNREACHABLE = "EndpointConnectionError"  # no answer at all: connection refused
TIMEOUT = "ReadTimeoutError"  # no answer in time (injected before DynamoDB applied anything)

ITEM_FAULTS = [THROTTLED, THROTTLING, REQUEST_LIMIT, INTERNAL, CONFLICT, UNREACHABLE, TIMEOUT]
TRANSACTION_FAULTS = [*ITEM_FAULTS, CANCELLED_THROTTLED]
BATCH_FAULTS = [THROTTLED, THROTTLING, REQUEST_LIMIT, INTERNAL, UNREACHABLE]

ABSORBED, EXHAUSTED = "absorbed", "exhausted"
injected_in_module: Counter[str] = Counter()


@dataclass
class Rule:
    operation: str
    fault: str
    table: str | None
    skip: int  # matching attempts let through before faulting
    times: int | None  # faults to inject; None: every matching attempt


class Faults:
    """Answers chosen DynamoDB requests with an error in place of moto. It sits inside moto's
    `before-send` handler rather than beside it: botocore runs every `before-send` handler, and
    moto would otherwise apply a request whose answer the fault then hides."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.injected: Counter[str] = Counter()

    def add(
        self, operation: str, fault: str, *, table: str | None = None, skip: int = 0, times: int | None = None
    ) -> None:
        self.rules.append(Rule(operation, fault, table, skip, times))

    def clear(self) -> None:
        self.rules.clear()

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def answer(self, request: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        if not operation:
            return None
        body = json.loads(request.body or b"{}")
        tables = _tables(body)
        for rule in self.rules:
            if rule.operation != operation or (rule.table is not None and rule.table not in tables):
                continue
            if rule.skip:
                rule.skip -= 1
                return None
            if rule.times is not None:
                if rule.times == 0:
                    continue
                rule.times -= 1
            self.injected[rule.fault] += 1
            injected_in_module[rule.fault] += 1
            if rule.fault == UNREACHABLE:
                raise EndpointConnectionError(endpoint_url=request.url)
            if rule.fault == TIMEOUT:
                raise ReadTimeoutError(endpoint_url=request.url)
            return _error_response(request.url, operation, rule.fault, body)
        return None


def _tables(body: dict[str, Any]) -> set[str]:
    if "TableName" in body:
        return {body["TableName"]}
    if "TransactItems" in body:
        return {next(iter(item.values()))["TableName"] for item in body["TransactItems"]}
    return set(body.get("RequestItems", {}))


def _error_response(url: str, operation: str, fault: str, body: dict[str, Any]) -> AWSResponse:
    status = 400
    payload: dict[str, Any] = {"message": "injected fault"}
    if fault in (CONFLICT, CANCELLED_THROTTLED) and operation == "TransactWriteItems":
        reason = "TransactionConflict" if fault == CONFLICT else "ThrottlingError"
        others = [{"Code": "None"}] * (len(body["TransactItems"]) - 1)
        payload.update(__type="TransactionCanceledException", CancellationReasons=[{"Code": reason}, *others])
    elif fault == CONFLICT:
        payload["__type"] = "TransactionConflictException"
    else:
        status = 500 if fault == INTERNAL else 400
        payload["__type"] = fault
    payload["__type"] = f"com.amazonaws.dynamodb.v20120810#{payload['__type']}"
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected-fault"}
    return AWSResponse(url, status, headers, MockRawResponse(json.dumps(payload)))


@pytest.fixture
def faults(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    # botocore would sleep up to 1+2+4+8 s per exhausted throttled call; the policy (what is retried,
    # how often) is what these tests are about, not the waiting.
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    monkeypatch.setattr("shared.retry.backoff", lambda attempt, base=0, cap=0: None)
    monkeypatch.setenv("TRANSACTION_ATTEMPTS", str(TRANSACTIONS))
    # A registration that admission cannot decide gives up (429) after this long.
    monkeypatch.setattr("shared.managers.registrations.GIVE_UP_AFTER", 0.3)
    get_settings.cache_clear()
    injector = Faults()
    serve = BotocoreStubber.__call__

    def faulty(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        return injector.answer(request) or serve(stubber, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", faulty)
    yield injector
    injector.clear()


@pytest.fixture(scope="module", autouse=True)
def report_faults() -> Iterator[None]:
    yield
    print(f"\nfaults injected: {sum(injected_in_module.values())} {dict(injected_in_module)}")


def times_for(outcome: str) -> int | None:
    """Absorbed: fewer faults in a row than either retry loop allows. Exhausted: every attempt."""
    return 2 if outcome == ABSORBED else None


# Faults that mean load: once the retries are spent, the client is asked to slow down (429).
LOAD_FAULTS = {THROTTLED, THROTTLING, REQUEST_LIMIT, CONFLICT, CANCELLED_THROTTLED}


def expect(response: ApiResponse, outcome: str, status: int, fault: str) -> None:
    if outcome == ABSORBED:
        assert response.status == status, response.body
    else:
        assert response.status == (429 if fault in LOAD_FAULTS else 503), response.body
        assert response.headers["retry-after"] == "1"
        assert isinstance(response.body["detail"], str) and "Internal" not in response.body["detail"]


def idempotency_table() -> str:
    return os.environ["IDEMPOTENCY_TABLE"]


@pytest.mark.parametrize("outcome", [ABSORBED, EXHAUSTED])
@pytest.mark.parametrize("fault", TRANSACTION_FAULTS)
class TestTransactions:
    def test_register_confirmed(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        faults.add("TransactWriteItems", fault, times=times_for(outcome))

        response = register(api, event_id, user)

        expect(response, outcome, 201, fault)
        state = check_invariants(get_client(), event_id)
        assert len(state["confirmed"]) == (1 if outcome == ABSORBED else 0)
        self._assert_bounded_registration(faults, fault, outcome, event_id)
        faults.clear()
        if outcome == EXHAUSTED:
            assert register(api, event_id, user).status == 201
            check_invariants(get_client(), event_id)

    def test_register_waitlisted(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        # Only the join transaction writes to the Waitlist table
        faults.add("TransactWriteItems", fault, table=get_settings().waitlist_table, times=times_for(outcome))

        response = register(api, event_id, waiter)

        expect(response, outcome, 201, fault)
        state = check_invariants(get_client(), event_id)
        assert [w["userId"] for w in state["waitlist"]] == ([waiter] if outcome == ABSORBED else [])
        self._assert_bounded_registration(faults, fault, outcome, event_id)
        faults.clear()
        if outcome == EXHAUSTED:
            retried = register(api, event_id, waiter)
            assert retried.status == 201 and retried.body["position"] == 1
            check_invariants(get_client(), event_id)

    def test_unregister_confirmed(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        register(api, event_id, user)
        faults.add("TransactWriteItems", fault, times=times_for(outcome))

        response = api.delete(f"/events/{event_id}/registrations/{user}")

        expect(response, outcome, 200, fault)
        state = check_invariants(get_client(), event_id)
        assert len(state["confirmed"]) == (0 if outcome == ABSORBED else 1)
        faults.clear()
        if outcome == EXHAUSTED:
            assert api.delete(f"/events/{event_id}/registrations/{user}").status == 200
            assert check_invariants(get_client(), event_id)["confirmed"] == []

    def test_unregister_waitlisted(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter, behind = make_users(api, 3)
        for user in (holder, waiter, behind):
            register(api, event_id, user)
        faults.add("TransactWriteItems", fault, table=get_settings().waitlist_table, times=times_for(outcome))

        response = api.delete(f"/events/{event_id}/registrations/{waiter}")

        expect(response, outcome, 200, fault)
        state = check_invariants(get_client(), event_id)
        expected = [behind] if outcome == ABSORBED else [waiter, behind]
        assert [w["userId"] for w in state["waitlist"]] == expected
        faults.clear()
        if outcome == EXHAUSTED:
            assert api.delete(f"/events/{event_id}/registrations/{waiter}").status == 200
            assert [w["userId"] for w in check_invariants(get_client(), event_id)["waitlist"]] == [behind]

    def test_promote_after_raising_capacity(
        self, api: ApiClient, faults: Faults, streams: Any, fault: str, outcome: str
    ) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, *waiters = make_users(api, 3)
        for user in (holder, *waiters):
            register(api, event_id, user)
        assert api.put(f"/events/{event_id}", {"capacity": 3}).status == 200
        records = delivered_event_changes(streams)
        faults.add("TransactWriteItems", fault, times=times_for(outcome))

        result = invoke_event_changes(records)

        assert bool(result["batchItemFailures"]) == (outcome == EXHAUSTED)
        state = check_invariants(get_client(), event_id, quiet=outcome == ABSORBED)
        promoted = [r["userId"] for r in state["confirmed"]]
        assert promoted == ([holder, *waiters] if outcome == ABSORBED else [holder])
        faults.clear()
        # Lambda delivers the failed records again: they finish the promotion (and change nothing if done)
        assert invoke_event_changes(records) == {"batchItemFailures": []}
        state = check_invariants(get_client(), event_id, quiet=True)
        assert [r["userId"] for r in state["confirmed"]] == [holder, *waiters]

    def test_promote_from_the_stream(
        self,
        api: ApiClient,
        faults: Faults,
        streams: Any,
        fault: str,
        outcome: str,
    ) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        register(api, event_id, waiter)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        records = delivered(streams)
        faults.add("TransactWriteItems", fault, times=times_for(outcome))

        result = invoke_promotion(records)

        failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
        assert failed == ([] if outcome == ABSORBED else [records[0]["dynamodb"]["SequenceNumber"]])
        state = check_invariants(get_client(), event_id, quiet=outcome == ABSORBED)
        assert [r["userId"] for r in state["confirmed"]] == ([waiter] if outcome == ABSORBED else [])
        faults.clear()
        # Lambda delivers the failed batch again: it finishes the promotion (and changes nothing if done)
        assert invoke_promotion(records) == {"batchItemFailures": []}
        state = check_invariants(get_client(), event_id, quiet=True)
        assert [r["userId"] for r in state["confirmed"]] == [waiter]

    @classmethod
    def _assert_bounded_registration(cls, faults: Faults, fault: str, outcome: str, event_id: str) -> None:
        """A registration tries its own transaction DIRECT_ATTEMPTS times while it is cancelled;
        one cancelled by contention alone then goes to admission, whose transactions (cancelled
        too, here) it tries until its deadline, then withdraws its request: nothing is left."""
        if outcome == EXHAUSTED and fault in (CONFLICT, CANCELLED_THROTTLED):
            if fault == CONFLICT:
                assert faults.total > DIRECT_ATTEMPTS
            else:
                assert faults.total == DIRECT_ATTEMPTS  # throttled: admission would not help
            assert [item["position"] for item in admission_items(event_id)] in ([], [0])
        else:
            cls._assert_bounded(faults, fault, outcome)

    @staticmethod
    def _assert_bounded(faults: Faults, fault: str, outcome: str) -> None:
        if outcome == ABSORBED:
            assert faults.total == 2
        elif fault in (CONFLICT, CANCELLED_THROTTLED):
            assert faults.total == TRANSACTIONS  # our loop; botocore does not retry cancellations
        else:
            assert faults.total == MAX_ATTEMPTS  # botocore's standard mode


@pytest.mark.parametrize("outcome", [ABSORBED, EXHAUSTED])
@pytest.mark.parametrize("fault", ITEM_FAULTS)
class TestItemWrites:
    def test_create_user(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        user_id = uid("user")
        faults.add("PutItem", fault, table=get_settings().users_table, times=times_for(outcome))

        response = api.post("/users", {"userId": user_id, "name": "Ada"})

        expect(response, outcome, 201, fault)
        assert api.get(f"/users/{user_id}").status == (200 if outcome == ABSORBED else 404)
        assert faults.total == (2 if outcome == ABSORBED else MAX_ATTEMPTS)
        faults.clear()
        if outcome == EXHAUSTED:
            assert api.post("/users", {"userId": user_id, "name": "Ada"}).status == 201

    def test_create_event(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = uid("evt")
        body = {"eventId": event_id, "title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}
        faults.add("PutItem", fault, table=get_settings().events_table, times=times_for(outcome))

        response = api.post("/events", body)

        expect(response, outcome, 201, fault)
        assert api.get(f"/events/{event_id}").status == (200 if outcome == ABSORBED else 404)
        faults.clear()
        if outcome == EXHAUSTED:
            assert api.post("/events", body).status == 201
            check_invariants(get_client(), event_id)

    def test_update_event(self, api: ApiClient, faults: Faults, fault: str, outcome: str) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        register(api, event_id, make_users(api, 1)[0])
        faults.add("UpdateItem", fault, table=get_settings().events_table, times=times_for(outcome))

        response = api.put(f"/events/{event_id}", {"title": "Renamed"})

        expect(response, outcome, 200, fault)
        assert api.get(f"/events/{event_id}").body["title"] == ("Renamed" if outcome == ABSORBED else "Talk")
        check_invariants(get_client(), event_id)


@pytest.mark.parametrize("outcome", [ABSORBED, EXHAUSTED])
@pytest.mark.parametrize("fault", BATCH_FAULTS)
@pytest.mark.parametrize("step", ["Query", "TransactWriteItems"])
def test_delete_small_event_fault_at_each_step(
    api: ApiClient, faults: Faults, step: str, fault: str, outcome: str
) -> None:
    # Given an event with people confirmed and waiting, small enough to go in one transaction
    event_id = make_event(api, capacity=2, waitlistEnabled=True)["eventId"]
    people = make_users(api, 3)
    for user in people:
        register(api, event_id, user)
    faults.add(step, fault, times=times_for(outcome))
    # When DynamoDB fails at one step of the deletion
    response = api.delete(f"/events/{event_id}")
    # Then the client is told to retry, and the event is either intact or entirely gone
    expect(response, outcome, 200, fault)
    faults.clear()
    if outcome == EXHAUSTED:
        check_invariants(get_client(), event_id)  # nothing changed
        assert api.get(f"/events/{event_id}").status == 200
        assert api.delete(f"/events/{event_id}").status == 200
    assert_event_gone(api, event_id, people)


@pytest.mark.parametrize("outcome", [ABSORBED, EXHAUSTED])
@pytest.mark.parametrize("fault", BATCH_FAULTS)
@pytest.mark.parametrize(
    ("step", "where"),
    [
        ("Query", "request"),
        ("UpdateItem", "request"),
        ("Query", "background"),
        ("TransactWriteItems", "background"),
        ("DeleteItem", "background"),
    ],
)
def test_delete_large_event_fault_at_each_step(
    api: ApiClient,
    faults: Faults,
    streams: Any,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    where: str,
    fault: str,
    outcome: str,
) -> None:
    # Given an event too large to go in one transaction (here: more than none), people confirmed and waiting
    monkeypatch.setattr(deletion, "AT_ONCE_ROWS", 0)
    event_id = make_event(api, capacity=2, waitlistEnabled=True)["eventId"]
    people = make_users(api, 3)
    for user in people:
        register(api, event_id, user)
    if where == "request":
        faults.add(step, fault, times=times_for(outcome))
    # When DynamoDB fails at one step of the request, or of the background's work
    response = api.delete(f"/events/{event_id}")
    expect(response, outcome if where == "request" else ABSORBED, 200, fault)
    faults.clear()
    if where == "request" and outcome == EXHAUSTED:
        check_invariants(get_client(), event_id)  # not yet marked: nothing changed
        assert api.get(f"/events/{event_id}").status == 200
        assert api.delete(f"/events/{event_id}").status == 200
    # Then from the answer on, the event is invisible and closed
    assert api.get(f"/events/{event_id}").status == 404
    assert api.post(f"/events/{event_id}/registrations", {"userId": people[0]}).status == 404
    records = delivered_event_changes(streams)
    if where == "background":
        faults.add(step, fault, times=times_for(outcome))
        result = invoke_event_changes(records)
        assert bool(result["batchItemFailures"]) == (outcome == EXHAUSTED)
        faults.clear()
    # And the background (delivered again after a failure) finishes the job
    assert invoke_event_changes(records) == {"batchItemFailures": []}
    assert_event_gone(api, event_id, people)


def assert_event_gone(api: ApiClient, event_id: str, people: list[str]) -> None:
    settings = get_settings()
    for table in (settings.events_table, settings.registrations_table, settings.waitlist_table):
        assert not [i for i in get_client().scan(TableName=table)["Items"] if i["eventId"]["S"] == event_id]
    assert all(api.get(f"/users/{user}/registrations").body == [] for user in people)


@pytest.mark.parametrize("fault", [THROTTLED, INTERNAL, UNREACHABLE])
class TestAdmissionWaits:
    """Once a hot event's registration has written its request, it answers only what it has read:
    a call of its wait that fails past its retries is tried again, never answered as a 429/503
    that would leave the request to be decided after the client was told to retry."""

    def test_a_failing_read_lease_or_cleanup_does_not_end_the_wait(
        self, api: ApiClient, faults: Faults, fault: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("shared.managers.registrations.GIVE_UP_AFTER", 5.0)
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        admission.mark_hot(event_id)
        first, second = make_users(api, 2)
        waitlist = get_settings().waitlist_table
        # The first read of the request, the first try for the lease and the first removal of a
        # read decision each fail through all of botocore's attempts
        for operation in ("GetItem", "UpdateItem", "DeleteItem"):
            faults.add(operation, fault, table=waitlist, times=MAX_ATTEMPTS)

        answers = [register(api, event_id, first), register(api, event_id, second)]

        assert faults.injected[fault] == 3 * MAX_ATTEMPTS
        assert [a.status for a in answers] == [201, 201], [a.body for a in answers]
        assert [a.body["status"] for a in answers] == ["confirmed", "waitlisted"]
        assert answers[1].body["position"] == 1
        check_invariants(get_client(), event_id)
        # the decided request whose removal failed is left for TTL; nothing undecided is
        left = [item for item in admission_items(event_id) if item["position"] != requests.LEASE]
        assert len(left) == 1 and "decision" in left[0] and "expiresAt" in left[0]

    def test_a_withdrawal_that_fails_is_tried_again(self, api: ApiClient, faults: Faults, fault: str) -> None:
        event_id = make_event(api, capacity=1)["eventId"]
        admission.mark_hot(event_id)
        [user] = make_users(api, 1)
        # Nothing can be decided (every transaction on the event cancelled), and the first
        # withdrawal at the deadline fails through all of botocore's attempts
        faults.add("TransactWriteItems", CONFLICT)
        faults.add("DeleteItem", fault, table=get_settings().waitlist_table, times=MAX_ATTEMPTS)

        answer = register(api, event_id, user)

        assert answer.status == 429, answer.body
        assert faults.injected[fault] == MAX_ATTEMPTS
        # the second withdrawal went through: nothing happened, nothing is left but the lease
        assert [item["position"] for item in admission_items(event_id)] in ([], [requests.LEASE])
        faults.clear()
        check_invariants(get_client(), event_id)
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 0

    def test_past_its_grace_a_requester_that_can_neither_read_nor_withdraw_answers_429(
        self, api: ApiClient, faults: Faults, fault: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(admission, "GRACE", 0.2)
        event_id = make_event(api, capacity=1)["eventId"]
        admission.mark_hot(event_id)
        [user] = make_users(api, 1)
        waitlist = get_settings().waitlist_table
        faults.add("TransactWriteItems", CONFLICT)
        for operation in ("GetItem", "DeleteItem"):
            faults.add(operation, fault, table=waitlist)

        started = time.monotonic()
        answer = register(api, event_id, user)

        assert answer.status == 429, answer.body
        assert time.monotonic() - started < 0.3 + 0.2 + 2  # the deadline, the grace, slack
        # its request is left undecided (it expires: STALE_AFTER, then TTL): nothing was admitted
        faults.clear()
        check_invariants(get_client(), event_id)
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 0


class TestMidOperation:
    """A DynamoDB 500 between the steps of one request."""

    @pytest.mark.parametrize("fault", [INTERNAL, THROTTLED])
    def test_second_promotion_fails_after_the_first_succeeded(
        self, api: ApiClient, faults: Faults, streams: Any, fault: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # One person per promotion transaction here (49 otherwise), so that two seats take two
        monkeypatch.setattr("shared.managers.waitlist.PROMOTION_BATCH", 1)
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, first, second = make_users(api, 3)
        for user in (holder, first, second):
            register(api, event_id, user)
        assert api.put(f"/events/{event_id}", {"capacity": 3}).status == 200
        records = delivered_event_changes(streams)
        faults.add("TransactWriteItems", fault, skip=1)  # the first promotion goes through

        assert invoke_event_changes(records)["batchItemFailures"]

        state = check_invariants(get_client(), event_id)
        assert [r["userId"] for r in state["confirmed"]] == [holder, first]
        assert [w["userId"] for w in state["waitlist"]] == [second]
        faults.clear()
        assert invoke_event_changes(records) == {"batchItemFailures": []}
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 3
        check_invariants(get_client(), event_id, quiet=True)

    def test_a_join_reads_nothing_after_it_commits(self, api: ApiClient, faults: Faults) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        for read in ("Query", "GetItem", "BatchGetItem"):
            faults.add(read, INTERNAL, times=100)

        response = register(api, event_id, waiter)

        # The position is the number waiting that the join's transaction was conditional on, plus
        # one: no read follows the commit, so none can turn a committed join into a 5xx whose
        # retry could only say "already on the waitlist".
        assert response.status == 201, response.body
        assert response.body["status"] == "waitlisted" and response.body["position"] == 1
        assert faults.total == 0
        faults.clear()
        state = check_invariants(get_client(), event_id)
        assert [w["userId"] for w in state["waitlist"]] == [waiter]
        assert api.get(f"/events/{event_id}/waitlist").body[0]["position"] == 1

    def test_a_500_absorbed_inside_a_waitlist_join_is_invisible(self, api: ApiClient, faults: Faults) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        faults.add("TransactWriteItems", INTERNAL, skip=1, times=MAX_ATTEMPTS - 1)  # the join, nearly exhausted

        response = register(api, event_id, waiter)

        assert response.status == 201 and response.body["position"] == 1
        assert faults.total == MAX_ATTEMPTS - 1
        check_invariants(get_client(), event_id)


class TestIdempotencyTableFaults:
    def _register(self, api: ApiClient, event_id: str, user: str, key: str) -> ApiResponse:
        return api.post(f"/events/{event_id}/registrations", {"userId": user}, headers={HEADER: key})

    @pytest.mark.parametrize("fault", [THROTTLED, INTERNAL, CONFLICT])
    def test_record_cannot_be_written_so_nothing_runs(self, api: ApiClient, faults: Faults, fault: str) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        faults.add("PutItem", fault, table=idempotency_table())

        response = self._register(api, event_id, user, "k1")

        expect(response, EXHAUSTED, 201, fault)
        assert check_invariants(get_client(), event_id)["confirmed"] == []
        faults.clear()
        assert self._register(api, event_id, user, "k1").status == 201

    def test_success_stands_when_the_record_cannot_be_completed(self, api: ApiClient, faults: Faults) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        faults.add("UpdateItem", INTERNAL, table=idempotency_table())

        response = self._register(api, event_id, user, "k2")

        assert response.status == 201 and response.body["status"] == "confirmed"
        assert [r["userId"] for r in check_invariants(get_client(), event_id)["confirmed"]] == [user]
        faults.clear()
        # The record stays "in progress" until the invocation's time is up: a retry meanwhile is told so
        again = self._register(api, event_id, user, "k2")
        assert again.status == 409 and "in progress" in again.body["detail"]

    def test_an_error_stands_when_the_record_cannot_be_released(self, api: ApiClient, faults: Faults) -> None:
        event_id = make_event(api, capacity=1)["eventId"]
        holder, late = make_users(api, 2)
        register(api, event_id, holder)
        faults.add("DeleteItem", INTERNAL, table=idempotency_table())

        response = self._register(api, event_id, late, "k3")

        assert response.status == 409 and response.body == {"detail": "Event is full"}
        check_invariants(get_client(), event_id)

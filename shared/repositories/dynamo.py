"""The DynamoDB client (one per process, created lazily) as repositories use it, (de)serialisation,
and the reads every repository shares: one page of a list, every page of a query, batched gets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from shared import retry
from shared.config import get_settings
from shared.errors import InvalidRequestError, TooManyRequestsError
from shared.repositories.failures import BUSY, MAX_ATTEMPTS, guarded, retry_item_conflicts, retry_transaction

if TYPE_CHECKING:
    # Type stubs only (mypy-boto3-dynamodb, a dev requirement): never imported at run time.
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    _Client = DynamoDBClient
else:
    _Client = object

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Rounds of unprocessed BatchGetItem keys (throttled reads) before giving up with a 429.
BATCH_ATTEMPTS = 8
# Reads behind one page of a list at most (each ended early by the 1 MB read limit or a filter).
PAGE_READS = 8


@cache
def get_client() -> DynamoDBClient:
    from botocore.config import Config

    from shared.repositories.clients import session

    settings = get_settings()
    client = session().client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.dynamodb_endpoint,
        # Standard mode retries throttling, 5xx (InternalServerError) and dropped connections, with
        # jittered exponential backoff; TransactWriteItems carries an automatic ClientRequestToken,
        # so a retried transaction is applied at most once.
        config=Config(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}, connect_timeout=3, read_timeout=10
        ),
    )
    client.meta.events.register("needs-retry.dynamodb", retry_item_conflicts, unique_id="retry-item-conflicts")
    return client


class Dynamo(_Client):
    """The client as repositories hold it: every call answers with DynamoDB's response or raises
    one of the project's errors (failures.py), so no botocore exception leaves a repository. For
    the type checker it is a DynamoDBClient (the stubs check every call's parameters and
    response); at run time it forwards each call to the client through `guarded`."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        self.client = client or get_client()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)  # looked up per call: tests patch the client's methods
        if not callable(attribute):
            return attribute  # `meta` and the like
        return lambda **params: guarded(lambda: attribute(**params))

    def transact(self, items: list[dict[str, Any]], attempts: int | None = None) -> None:
        """TransactWriteItems, run again while only contention or throttling cancels it (at most
        `attempts` times; default TRANSACTION_ATTEMPTS)."""
        # The repositories build items as plain dicts; DynamoDB validates their shape.
        typed = cast("list[TransactWriteItemTypeDef]", items)
        guarded(lambda: retry_transaction(lambda: self.client.transact_write_items(TransactItems=typed), attempts))


class Tables:
    """What a repository across tables starts from: the guarded client and the tables' names."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        settings = get_settings()
        self._client = Dynamo(client)
        self._events = settings.events_table
        self._users = settings.users_table
        self._registrations = settings.registrations_table
        self._waitlist = settings.waitlist_table


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def value(python_value: Any) -> dict[str, Any]:
    return _serializer.serialize(python_value)


def _plain(val: Any) -> Any:
    # Numbers come back as Decimal; every number this API stores is an integer.
    if type(val).__name__ == "Decimal":
        return int(val)
    return val


def query_page(
    client: Any,
    operation: str,
    params: dict[str, Any],
    limit: int,
    cursor: dict[str, Any] | None,
    key_names: tuple[str, ...],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a Query or Scan. Reads one item more than asked for, so that a list which fits
    in one page ends with no cursor (DynamoDB alone would hand back a key to an empty page).

    DynamoDB may end a read before `Limit` (after 1 MB of items read, or when a FilterExpression
    dropped what it read): the page is then topped up from where that read stopped, up to
    PAGE_READS reads, so that a page is short (with a cursor) only after that many reads."""
    request = dict(params)
    if cursor:
        check_cursor(cursor, key_names, params)
        request["ExclusiveStartKey"] = cursor
    items: list[dict[str, Any]] = []
    last_key = None
    for _ in range(PAGE_READS):
        response = getattr(client, operation)(**request, Limit=limit + 1 - len(items))
        items.extend(response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if len(items) > limit or last_key is None:
            break
        request["ExclusiveStartKey"] = last_key
    if len(items) > limit:
        items = items[:limit]
        return items, {name: items[-1][name] for name in key_names}
    return items, last_key


def pages(client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a Query or Scan, in order: the one loop over LastEvaluatedKey."""
    while True:
        response = getattr(client, operation)(**params)
        yield response
        if "LastEvaluatedKey" not in response:
            return
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def batch_get(
    client: Any, keys_by_table: dict[str, list[dict[str, Any]]], projections: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """BatchGetItem over several tables, 100 keys a call, strongly consistent, retrying unprocessed
    keys with backoff (a 429 once BATCH_ATTEMPTS rounds left some). A projection naming `#word`
    reads the attribute `word` (reserved words: name, status, capacity)."""
    pending = [(table, key) for table, keys in keys_by_table.items() for key in _unique(keys)]
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys_by_table}
    attempt = 0
    while pending:
        chunk, pending = pending[:100], pending[100:]
        request: dict[str, Any] = {}
        for table, key in chunk:
            entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
            entry["Keys"].append(key)
            if table in projections:
                entry["ProjectionExpression"] = projections[table]
                if names := _PLACEHOLDER.findall(projections[table]):
                    entry["ExpressionAttributeNames"] = {f"#{name}": name for name in names}
        response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        unprocessed = response.get("UnprocessedKeys") or {}
        if unprocessed:
            attempt += 1
            if attempt > BATCH_ATTEMPTS:
                raise TooManyRequestsError(BUSY)
            retry.backoff(attempt)
            pending = [(table, key) for table, spec in unprocessed.items() for key in spec["Keys"]] + pending
    return found


def _unique(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        seen.setdefault(repr(sorted((k, tuple(v.items())) for k, v in key.items())), key)
    return list(seen.values())


# The only numeric key attribute of the data model (Waitlist's sort key); every other key is a string.
_NUMERIC_KEYS = frozenset({"position"})
_NUMBER = re.compile(r"-?[0-9]{1,38}")
_PLACEHOLDER = re.compile(r"#(\w+)")
_PARTITION_CONDITION = re.compile(r"\s*(#?\w+)\s*=\s*(:\w+)")


def check_cursor(cursor: dict[str, Any], key_names: tuple[str, ...], params: dict[str, Any]) -> None:
    """A cursor from a page token is signed, but must still be a key of this very list before it
    reaches DynamoDB (which answers a foreign one with a ValidationException): exactly the list's
    key attributes, each of its type and non-empty, and the partition the list queries."""
    invalid = InvalidRequestError("nextToken is invalid, expired or belongs to another list")
    if set(cursor) != set(key_names):
        raise invalid
    for name, attribute in cursor.items():
        kind = "N" if name in _NUMERIC_KEYS else "S"
        if not isinstance(attribute, dict) or set(attribute) != {kind} or not isinstance(attribute[kind], str):
            raise invalid
        text = attribute[kind]
        if not (_NUMBER.fullmatch(text) if kind == "N" else 0 < len(text.encode()) <= 1024):
            raise invalid
    condition = _PARTITION_CONDITION.match(params.get("KeyConditionExpression", ""))
    if condition:
        name = params.get("ExpressionAttributeNames", {}).get(condition.group(1), condition.group(1))
        if cursor.get(name) != params["ExpressionAttributeValues"][condition.group(2)]:
            raise invalid

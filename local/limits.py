"""The embedded DynamoDB's "AWS limits" mode: what real DynamoDB refuses or cuts short, and stock
moto does not (or does by other numbers). Off unless switched on.

- **Query and Scan pages stop at a byte budget** (1 MiB by default, as DynamoDB's 1 MB page) of
  items *read*: before any FilterExpression, for `Select=COUNT` too, with the item sizes DynamoDB
  bills (attribute names + values, AWS's "Item sizes and formats" rules), and answer
  `LastEvaluatedKey`. `Limit` still applies. A smaller budget (`page_bytes=`) lets a test page a
  200-item partition every few items (an item larger than it gets a page to itself).
- **Transaction conflicts.** `conflict_rate=`: that share of TransactWriteItems calls (seeded
  random, `seed=`) is cancelled with `TransactionCanceledException`, reason `TransactionConflict`
  on one of its items. `transaction_ms=` (server only): a transaction holds its items for that
  long before it commits, with the server's request lock released meanwhile, so transactions
  really overlap: one that meets another on an item is cancelled (`TransactionConflict` on that
  item), and a PutItem/UpdateItem/DeleteItem on such an item fails with
  `TransactionConflictException`. Reads meanwhile see the item as before the transaction, which
  commits atomically (under the lock) once its time is up.
- **Sizes and counts**: items over 400 KiB (AWS sizes, `ValidationException` as moto words it),
  more than 100 actions or 4 MiB in a TransactWriteItems, more than 25 requests in a
  BatchWriteItem. (moto already refuses BatchGetItem over 100 keys and answers UnprocessedKeys
  past 16 MiB, which then counts AWS sizes too.)

Switch it on with `DYNAMODB_LIMITS` (`on`, or `page_bytes=4096,conflict_rate=0.2,seed=7,
transaction_ms=5`), `python -m local.dynamodb --limits SPEC`, or in-process (moto's `mock_aws`)
with `with aws_limits(page_bytes=…):` — the same patches of moto's backend serve both.
"""

from __future__ import annotations

import base64
import binascii
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

ENVIRONMENT = "DYNAMODB_LIMITS"
KIB = 1024
MIB = 1024 * KIB
PAGE_BYTES = MIB
ITEM_BYTES = 400 * KIB
TRANSACTION_ACTIONS = 100
TRANSACTION_BYTES = 4 * MIB
BATCH_WRITE_REQUESTS = 25
# moto's own page cut (models/table.py RESULT_SIZE_LIMIT), restored when the mode goes off.
_MOTO_PAGE_BYTES = 1_000_000
CONFLICT = "TransactionConflict"
CONFLICT_MESSAGE = "Transaction is ongoing for the item"


@dataclass(frozen=True)
class Limits:
    page_bytes: int = PAGE_BYTES
    conflict_rate: float = 0.0
    seed: int = 0
    transaction_ms: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Limits:
        """`on`, or comma-separated `name=value` of the fields (e.g. `page_bytes=2048,seed=3`)."""
        kinds = {field.name: field.type for field in fields(cls)}
        chosen: dict[str, Any] = {}
        for part in (p.strip() for p in spec.split(",")):
            if part in ("", "on", "1", "true"):
                continue
            name, _, text = part.partition("=")
            name = name.strip()
            if name not in kinds or not text:
                raise ValueError(f"{ENVIRONMENT}: unknown or empty setting {part!r} (known: {', '.join(kinds)})")
            chosen[name] = int(text) if kinds[name] == "int" else float(text)
        limits = replace(cls(), **chosen)
        if limits.page_bytes < 1 or not 0 <= limits.conflict_rate <= 1 or limits.transaction_ms < 0:
            raise ValueError(f"{ENVIRONMENT}: out of range: {spec!r}")
        return limits


def from_environment() -> Limits | None:
    spec = os.environ.get("DYNAMODB_LIMITS", "").strip()
    return Limits.parse(spec) if spec and spec not in ("0", "off", "false") else None


# --- item sizes, as DynamoDB counts them -------------------------------------------------------


def value_size(value: Any) -> int:
    """Bytes of one attribute value (a DynamoDB JSON dict such as {"S": "x"}, or moto's DynamoType)."""
    if not isinstance(value, dict):
        value = {value.type: value.value}
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return binary_size(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(binary_size(b) for b in raw)
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in raw)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(element) + 1 for name, element in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def number_size(text: Any) -> int:
    """1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    try:
        digits = len(Decimal(str(text)).normalize().as_tuple().digits)
    except InvalidOperation:
        digits = len(str(text))
    return (digits + 1) // 2 + 1


def binary_size(raw: Any) -> int:
    if isinstance(raw, bytes):
        return len(raw)
    try:
        return len(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return len(str(raw).encode())


def item_size(attributes: dict[str, Any]) -> int:
    """An item's size: the sum of its attribute names' UTF-8 bytes and its values' sizes."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


# --- the switch --------------------------------------------------------------------------------

_active: Limits | None = None
_random = random.Random(0)
_registry = threading.Lock()
# (table, key) of every item a transaction holds while it is in flight (transaction_ms).
_in_flight: set[tuple[str, str]] = set()
_request = threading.local()


def active() -> Limits | None:
    return _active


def enable(limits: Limits) -> None:
    global _active, _random
    install()
    from moto.dynamodb.models import table

    _random = random.Random(limits.seed)
    _active = limits
    table.RESULT_SIZE_LIMIT = limits.page_bytes  # read by moto's Table.query and Table.scan per call


def disable() -> None:
    global _active
    from moto.dynamodb.models import table

    _active = None
    table.RESULT_SIZE_LIMIT = _MOTO_PAGE_BYTES


@contextmanager
def aws_limits(limits: Limits | None = None, **settings: Any) -> Iterator[Limits]:
    """The mode on for the block (in this process: moto's `mock_aws` or an embedded server)."""
    chosen = replace(limits or Limits(), **settings)
    previous = _active
    enable(chosen)
    try:
        yield chosen
    finally:
        if previous is None:
            disable()
        else:
            enable(previous)


@contextmanager
def serving(lock: Any) -> Iterator[None]:
    """Marks the current thread as serving one request under the server's `lock` (held): an
    overlapping transaction releases it while in flight."""
    _request.lock = lock
    try:
        yield
    finally:
        _request.lock = None


# --- the patches of moto's backend -------------------------------------------------------------


def _key_of(table: Any, attributes: dict[str, Any]) -> str:
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return repr([(name, sorted(attributes[name].items())) for name in names if name in attributes])


def _target(backend: Any, action: dict[str, Any]) -> tuple[str, str]:
    ((kind, operation),) = action.items()
    table = backend.get_table(operation["TableName"])
    return operation["TableName"], _key_of(table, operation["Item"] if kind == "Put" else operation["Key"])


def install() -> None:
    """Patches moto's DynamoDB backend once (for its server and for `mock_aws` alike); every patch
    behaves as stock moto while the mode is off."""
    from moto.dynamodb.exceptions import (
        DynamodbException,
        ItemSizeTooLarge,
        MockValidationException,
        TooManyTransactionsException,
        TransactionCanceledException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.responses import DynamoHandler

    from local.dynamodb import install_fast_transactions

    if getattr(DynamoDBBackend, "_aws_limits", False):
        return
    install_fast_transactions()

    class TransactionConflictException(DynamodbException):
        def __init__(self) -> None:
            super().__init__("com.amazonaws.dynamodb.v20120810#TransactionConflictException", CONFLICT_MESSAGE)

    stock_size = Item.size

    def size(self: Any) -> int:
        # An item larger than a (test's small) page budget counts as the whole budget: it gets a
        # page to itself, as no item can outgrow DynamoDB's 1 MB page.
        return min(item_size(self.attrs), _active.page_bytes) if _active else int(stock_size(self))

    stock_setitem = LimitedSizeDict.__setitem__

    def setitem(self: Any, key: str, value: Any) -> None:
        if not _active:
            stock_setitem(self, key, value)
            return
        others = sum(len(name.encode()) + value_size(v) for name, v in self.items() if name != key)
        if others + len(key.encode()) + value_size(value) > ITEM_BYTES:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    def refuse_in_flight(table_name: str, key: str) -> None:
        with _registry:
            if (table_name, key) in _in_flight:
                raise TransactionConflictException()

    stock_put, stock_update, stock_delete = (
        DynamoDBBackend.put_item,
        DynamoDBBackend.update_item,
        DynamoDBBackend.delete_item,
    )

    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if _in_flight:
            refuse_in_flight(table_name, _key_of(self.get_table(table_name), item_attrs))
        return stock_put(self, table_name, item_attrs, *args, **kwargs)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if _in_flight:
            refuse_in_flight(table_name, _key_of(self.get_table(table_name), key))
        return stock_update(self, table_name, key, *args, **kwargs)

    def delete_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if _in_flight:
            refuse_in_flight(table_name, _key_of(self.get_table(table_name), key))
        return stock_delete(self, table_name, key, *args, **kwargs)

    fast_transaction = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        limits = _active
        if limits is None:
            return fast_transaction(self, transact_items)  # type: ignore[no-any-return]
        if len(transact_items) > TRANSACTION_ACTIONS:
            raise TooManyTransactionsException()
        targets = [_target(self, action) for action in transact_items]
        if _transaction_bytes(self, transact_items) > TRANSACTION_BYTES:
            raise MockValidationException(
                "Transaction request cannot be larger than 4 MB: the aggregate size of its items exceeds it"
            )
        with _registry:
            conflicting = {index for index, target in enumerate(targets) if target in _in_flight}
            if not conflicting and limits.conflict_rate and _random.random() < limits.conflict_rate:
                conflicting = {_random.randrange(len(transact_items))}
            lock = getattr(_request, "lock", None)
            holds = bool(limits.transaction_ms) and lock is not None and not conflicting
            if holds:
                _in_flight.update(targets)
        if conflicting:
            raise TransactionCanceledException(
                [
                    (CONFLICT, CONFLICT_MESSAGE, None) if index in conflicting else (None, None, None)
                    for index in range(len(transact_items))
                ]
            )
        if holds and lock is not None:
            # In flight: other requests run meanwhile; those that write these items are refused.
            lock.release()
            try:
                time.sleep(limits.transaction_ms / 1000)
            finally:
                lock.acquire()
                with _registry:
                    _in_flight.difference_update(targets)
        # Commits atomically: under the request lock, nobody wrote these items since they were held.
        return fast_transaction(self, transact_items)  # type: ignore[no-any-return]

    stock_batch_write = DynamoHandler.batch_write_item

    def batch_write_item(self: Any) -> Any:
        if _active:
            requests = self.body.get("RequestItems", {})
            for table_name, writes in requests.items():
                if len(writes) > BATCH_WRITE_REQUESTS:
                    raise MockValidationException(
                        f"1 validation error detected: Value '{{{table_name}=[{len(writes)} write requests]}}' at "
                        "'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
                        f"[Member must have length less than or equal to {BATCH_WRITE_REQUESTS}, "
                        "Member must have length greater than or equal to 1]"
                    )
            if sum(len(writes) for writes in requests.values()) > BATCH_WRITE_REQUESTS:
                raise MockValidationException("Too many items requested for the BatchWriteItem call")
        return stock_batch_write(self)

    Item.size = size  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign,assignment]
    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    DynamoDBBackend.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.batch_write_item = batch_write_item  # type: ignore[method-assign]
    DynamoDBBackend._aws_limits = True  # type: ignore[attr-defined]


def _transaction_bytes(backend: Any, transact_items: list[dict[str, Any]]) -> int:
    """The aggregate size of a transaction's items: each Put's item, and each updated item as
    stored now (its size after the update is known only once applied)."""
    total = 0
    for action in transact_items:
        ((kind, operation),) = action.items()
        if kind == "Put":
            total += item_size(operation["Item"])
        elif kind == "Update":
            current = backend.get_item(operation["TableName"], operation["Key"])
            total += item_size(current.attrs) if current else 0
    return total

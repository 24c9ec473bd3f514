"""The embedded DynamoDB's AWS limits mode (local/limits.py): pages cut at a byte budget of items
read, transaction conflicts in the shape botocore parses, and AWS's size and count limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from local.dynamodb import EmbeddedDynamoDB, server_process
from local.limits import ITEM_BYTES, MIB, Limits, aws_limits, from_environment, item_size
from shared.repositories.dynamo import pages
from shared.repositories.failures import is_busy

PARTITION = {":p": {"S": "event"}}


def create_table(client: Any) -> None:
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


def row(number: int, pad: int = 90) -> dict[str, Any]:
    return {"p": {"S": "event"}, "s": {"N": str(number)}, "xpad": {"S": "x" * pad}}


def fill(client: Any, count: int, pad: int = 90) -> None:
    for start in range(0, count, 25):
        writes = [{"PutRequest": {"Item": row(n, pad)}} for n in range(start, min(count, start + 25))]
        client.batch_write_item(RequestItems={"t": writes})


def query(client: Any, **params: Any) -> Any:
    return client.query(**{**_query_params(), **params})


def test_item_sizes_are_counted_as_dynamodb_bills_them() -> None:
    # names + values: strings in UTF-8 bytes, numbers 1 byte per two significant digits + 1,
    # booleans and nulls 1, lists and maps 3 + 1 per element
    assert item_size({"name": {"S": "héllo"}}) == 4 + 6
    assert item_size({"n": {"N": "12345"}, "z": {"N": "1000"}, "f": {"N": "-0.25"}}) == (1 + 4) + (1 + 2) + (1 + 2)
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}, "m": {"M": {"k": {"S": "v"}}}}) == (1 + 3 + 3 + 3) + (
        1 + 3 + 3
    )
    assert item_size(row(7)) == (1 + 5) + (1 + 2) + (4 + 90)


def test_a_query_page_stops_at_the_byte_budget_and_resumes_from_its_last_evaluated_key(client: Any) -> None:
    fill(client, 200)
    size = item_size(row(100))  # 104 bytes (rows 0-99: 103)
    with aws_limits(page_bytes=10 * size):
        first = query(client)
        # Then the page holds the items that fit the budget, and its key is the last one's
        assert [int(i["s"]["N"]) for i in first["Items"]] == list(range(10))
        assert first["LastEvaluatedKey"] == {"p": {"S": "event"}, "s": {"N": "9"}}
        responses = list(pages(client, "query", **_query_params()))
    assert [int(i["s"]["N"]) for r in responses for i in r["Items"]] == list(range(200))
    assert all("LastEvaluatedKey" in r for r in responses[:-1]) and "LastEvaluatedKey" not in responses[-1]
    assert 20 <= len(responses) <= 22


def test_the_budget_applies_before_the_filter_and_to_count_queries(client: Any) -> None:
    fill(client, 100)
    with aws_limits(page_bytes=1000):
        filtered = query(
            client, FilterExpression="s >= :big", ExpressionAttributeValues={**PARTITION, ":big": {"N": "5"}}
        )
        counted = query(client, Select="COUNT")
        counts = [r["Count"] for r in pages(client, "query", Select="COUNT", **_query_params())]
    # Then the filter sees only what one budget read (ScannedCount), and COUNT pages the same way
    assert filtered["ScannedCount"] == counted["Count"] == counted["ScannedCount"] < 100
    assert [int(i["s"]["N"]) for i in filtered["Items"]] == list(range(5, filtered["ScannedCount"]))
    assert "LastEvaluatedKey" in filtered and "LastEvaluatedKey" in counted
    assert sum(counts) == 100 and len(counts) > 1


def test_the_default_budget_is_one_mebibyte_and_limit_still_applies(client: Any) -> None:
    fill(client, 12_000)
    with aws_limits():
        counted = query(client, Select="COUNT")
        limited = query(client, Limit=7)
    # Rows of about 104 bytes: a page holds 1 MiB of them, not all 12,000
    assert counted["Count"] < 12_000
    assert MIB - 110 < sum(item_size(row(n)) for n in range(counted["Count"])) <= MIB
    assert len(limited["Items"]) == 7 and limited["LastEvaluatedKey"]["s"] == {"N": "6"}


def test_a_cancelled_transaction_names_the_conflicting_item_and_applies_nothing(client: Any) -> None:
    with aws_limits(conflict_rate=1.0, seed=3), pytest.raises(ClientError) as caught:
        client.transact_write_items(
            TransactItems=[{"Put": {"TableName": "t", "Item": row(n)}} for n in range(4)],
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in error["CancellationReasons"]]
    assert codes.count("TransactionConflict") == 1 and codes.count("None") == 3
    conflict = next(r for r in error["CancellationReasons"] if r["Code"] == "TransactionConflict")
    assert conflict["Message"] == "Transaction is ongoing for the item"
    # The project reads it as busy (retried, then 503), never as a failed condition
    assert is_busy(caught.value)
    assert query(client)["Items"] == []


def test_the_conflict_rate_is_a_seeded_share_of_transactions(client: Any) -> None:
    def outcomes() -> list[bool]:
        results = []
        with aws_limits(conflict_rate=0.3, seed=11):
            for n in range(200):
                try:
                    client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": row(n)}}])
                    results.append(True)
                except ClientError:
                    results.append(False)
        return results

    first, second = outcomes(), outcomes()
    assert first == second
    assert 30 < first.count(False) < 90


def test_size_and_count_limits_are_refused_with_aws_errors(client: Any) -> None:
    with aws_limits():
        too_big = {"p": {"S": "event"}, "s": {"N": "1"}, "xpad": {"S": "x" * (ITEM_BYTES - 10)}}
        with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
            client.put_item(TableName="t", Item=too_big)
        client.put_item(TableName="t", Item={**too_big, "xpad": {"S": "x" * (ITEM_BYTES - 13)}})  # exactly 400 KiB
        with pytest.raises(ClientError, match="Item size to update has exceeded the maximum allowed size"):
            client.update_item(
                TableName="t",
                Key={"p": {"S": "event"}, "s": {"N": "1"}},
                UpdateExpression="SET more = :x",
                ExpressionAttributeValues={":x": {"S": "xy"}},
            )
        with pytest.raises(ClientError, match="less than or equal to 100"):
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": row(n)}} for n in range(101)])
        big = [{"Put": {"TableName": "t", "Item": row(n, pad=ITEM_BYTES - 20)}} for n in range(100, 111)]
        with pytest.raises(ClientError, match="4 MB") as caught:
            client.transact_write_items(TransactItems=big)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        client.transact_write_items(TransactItems=big[:10])  # 10 x 400 KiB fits in 4 MiB
        with pytest.raises(ClientError, match="less than or equal to 25"):
            client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": row(n)}} for n in range(200, 226)]})
        with pytest.raises(ClientError, match=r"keys.* less than or equal to 100"):
            client.batch_get_item(
                RequestItems={"t": {"Keys": [{"p": {"S": "event"}, "s": {"N": str(n)}} for n in range(101)]}}
            )
        keys = [{"p": {"S": "event"}, "s": {"N": str(n)}} for n in range(100, 160)]
        client.batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": row(n, pad=ITEM_BYTES - 20)}} for n in range(110, 135)]}
        )
        client.batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": row(n, pad=ITEM_BYTES - 20)}} for n in range(135, 160)]}
        )
        answer = client.batch_get_item(RequestItems={"t": {"Keys": keys}})
    # 16 MiB of 400 KiB items is 40 of them: the other 20 keys come back unprocessed
    assert len(answer["Responses"]["t"]) == 40
    assert len(answer["UnprocessedKeys"]["t"]["Keys"]) == 20


def test_the_mode_parses_its_settings() -> None:
    assert Limits.parse("on") == Limits()
    assert Limits.parse("page_bytes=2048, conflict_rate=0.25,seed=4,transaction_ms=5") == Limits(2048, 0.25, 4, 5.0)
    for wrong in ("pages=3", "conflict_rate=2", "page_bytes="):
        with pytest.raises(ValueError):
            Limits.parse(wrong)


def test_dynamodb_limits_in_the_environment_switches_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMODB_LIMITS", "conflict_rate=0.5")
    assert from_environment() == Limits(conflict_rate=0.5)
    for off in ("", "off", "0"):
        monkeypatch.setenv("DYNAMODB_LIMITS", off)
        assert from_environment() is None


def _query_params() -> dict[str, Any]:
    return {"TableName": "t", "KeyConditionExpression": "p = :p", "ExpressionAttributeValues": PARTITION}


@pytest.fixture
def overlapping() -> Iterator[Any]:
    """An embedded server (in this process, over HTTP) whose transactions stay in flight 400 ms."""
    server = EmbeddedDynamoDB(limits=Limits(transaction_ms=400)).start()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        create_table(client)
        yield client
    finally:
        server.stop()
        from local.limits import disable

        disable()


def test_overlapping_writes_meet_the_transaction_in_flight(overlapping: Any) -> None:
    client = overlapping
    client.put_item(TableName="t", Item=row(1, pad=1))
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"p": {"S": "event"}, "s": {"N": "1"}},
            "UpdateExpression": "SET xpad = :new",
            "ExpressionAttributeValues": {":new": {"S": "new"}},
        }
    }
    committed: list[Any] = []
    first = threading.Thread(
        target=lambda: committed.append(
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": row(2)}}, update])
        )
    )
    first.start()
    time.sleep(0.15)
    # While the first transaction holds item 1: a single write fails, another transaction is
    # cancelled with the reason on that item, and reads still see the item as it was.
    with pytest.raises(ClientError) as single:
        client.put_item(TableName="t", Item=row(1))
    assert single.value.response["Error"] == {
        "Code": "TransactionConflictException",
        "Message": "Transaction is ongoing for the item",
    }
    with pytest.raises(ClientError) as second:
        client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": row(3)}}, update])
    assert [r["Code"] for r in second.value.response["CancellationReasons"]] == ["None", "TransactionConflict"]
    other = client.put_item(TableName="t", Item=row(4))  # another item is not held
    assert other["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.get_item(TableName="t", Key={"p": {"S": "event"}, "s": {"N": "1"}})["Item"]["xpad"] == {"S": "x"}
    first.join(timeout=5)
    assert committed and client.get_item(TableName="t", Key={"p": {"S": "event"}, "s": {"N": "1"}})["Item"]["xpad"] == {
        "S": "new"
    }
    assert "Item" not in client.get_item(TableName="t", Key={"p": {"S": "event"}, "s": {"N": "3"}})


def test_a_server_process_in_limits_mode_serves_and_stops() -> None:
    with server_process("page_bytes=2048") as endpoint:
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
        )
        create_table(client)
        for n in range(40):
            client.put_item(TableName="t", Item=row(n, pad=200))
        # pages cut at the budget: the server runs in the mode asked for
        first = client.query(**_query_params())
        assert "LastEvaluatedKey" in first and len(first["Items"]) < 40
    with pytest.raises(EndpointConnectionError):  # it stopped with the block
        client.list_tables()


def test_a_server_process_that_cannot_start_says_so_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="did not start"), server_process("no_such_setting=1"):
        pass
    assert time.monotonic() - started < 20  # it exited: no waiting out the 30 s

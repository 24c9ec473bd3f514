"""The embedded DynamoDB's transactions: all or nothing, with per-item cancellation reasons."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.dynamodb import install_fast_transactions


@pytest.fixture
def table() -> Any:
    install_fast_transactions()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def put_a_and_update_b(table: Any, **update: Any) -> None:
    """One transaction: put item "a", then update item "b" as `update` says."""
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"k": {"S": "a"}}}},
            {"Update": {"TableName": "t", "Key": {"k": {"S": "b"}}, **update}},
        ]
    )


def test_a_failed_condition_cancels_everything_and_returns_the_old_item(table: Any) -> None:
    table.put_item(TableName="t", Item={"k": {"S": "b"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as caught:
        put_a_and_update_b(
            table,
            UpdateExpression="SET n = :two",
            ConditionExpression="n = :zero",
            ExpressionAttributeValues={":two": {"N": "2"}, ":zero": {"N": "0"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    reasons = caught.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"k": {"S": "b"}, "n": {"N": "1"}}
    assert "Item" not in table.get_item(TableName="t", Key={"k": {"S": "a"}})


def test_a_write_failing_after_the_checks_leaves_nothing_behind(table: Any) -> None:
    table.put_item(TableName="t", Item={"k": {"S": "b"}, "n": {"S": "text"}})
    with pytest.raises(ClientError):
        put_a_and_update_b(table, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
    assert "Item" not in table.get_item(TableName="t", Key={"k": {"S": "a"}})
    assert table.get_item(TableName="t", Key={"k": {"S": "b"}})["Item"]["n"] == {"S": "text"}


def test_all_writes_apply_when_every_condition_holds(table: Any) -> None:
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"k": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(k)"}},
            {"Put": {"TableName": "t", "Item": {"k": {"S": "b"}}}},
        ]
    )
    assert len(table.scan(TableName="t")["Items"]) == 2

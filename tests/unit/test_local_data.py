"""local/data.py on moto in-process: a snapshot brings tables, items and stream positions back; a
shard nobody finished is read again from its first record; an unreadable snapshot is kept aside;
`make reset` removes only the files it owns. (tests/integration/test_local_data.py: the same
through `make run` restarts and a crash.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from local import config
from local.data import CHECKPOINT_NAME, SNAPSHOT_NAME, LocalData, UnreadableSnapshotError, reset

REGISTRATIONS = config.load()["custom"]["tables"]["registrations"]
USERS = config.load()["custom"]["tables"]["users"]


def unlocked(action: Any) -> Any:
    return action()


def forget_everything() -> None:
    """What a new process starts with: no tables."""
    for per_region in dynamodb_backends.values():
        for backend in per_region.values():
            backend.tables.clear()


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        config.create_tables(client)
        yield client


def test_tables_and_items_come_back(client: Any, tmp_path: Path) -> None:
    data = LocalData(tmp_path, unlocked)
    client.put_item(TableName=USERS, Item={"userId": {"S": "ada"}, "name": {"S": "Ada"}})
    assert data.save() is True
    assert data.save() is False, "nothing changed: no second write"

    forget_everything()
    assert client.list_tables()["TableNames"] == []
    restored = LocalData(tmp_path, unlocked).restore()

    assert restored is not None and restored.tables == 5 and restored.items == 1
    item = client.get_item(TableName=USERS, Key={"userId": {"S": "ada"}})["Item"]
    assert item == {"userId": {"S": "ada"}, "name": {"S": "Ada"}}


def test_a_shard_without_checkpoint_is_read_again_from_its_first_record(client: Any, tmp_path: Path) -> None:
    # Given a stream record nobody finished (no checkpoint yet) in the snapshot
    client.put_item(TableName=REGISTRATIONS, Item={"eventId": {"S": "e"}, "userId": {"S": "u"}})
    LocalData(tmp_path, unlocked).save()
    forget_everything()

    # When it is restored
    LocalData(tmp_path, unlocked).restore()

    # Then the checkpoint put in place makes the reader start at that record (each streamed
    # table's shard has its entry: Registrations and Events)
    registrations_stream = client.describe_table(TableName=REGISTRATIONS)["Table"]["LatestStreamArn"]
    positions = json.loads((tmp_path / CHECKPOINT_NAME).read_text())
    assert len(positions) == 2
    [(key, after)] = [(k, v) for k, v in positions.items() if k.startswith(f"{registrations_stream}::")]
    stream_arn, shard_id = key.split("::")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["userId"]["S"]) for r in records] == [("INSERT", "u")]


def test_the_saved_checkpoint_replaces_a_live_one_that_ran_ahead(client: Any, tmp_path: Path) -> None:
    client.put_item(TableName=REGISTRATIONS, Item={"eventId": {"S": "e"}, "userId": {"S": "u"}})
    stream_arn = client.describe_table(TableName=REGISTRATIONS)["Table"]["LatestStreamArn"]
    shard = dynamodb_backends["123456789012"]["us-east-1"].tables[REGISTRATIONS].stream_shard
    assert shard is not None
    shard_key = f"{stream_arn}::{shard.id}"
    (tmp_path / CHECKPOINT_NAME).write_text(json.dumps({shard_key: "41"}))
    LocalData(tmp_path, unlocked).save()
    # The reader went on after the snapshot, over writes a crash then lost
    (tmp_path / CHECKPOINT_NAME).write_text(json.dumps({shard_key: "99"}))
    forget_everything()

    LocalData(tmp_path, unlocked).restore()

    assert json.loads((tmp_path / CHECKPOINT_NAME).read_text())[shard_key] == "41"


def test_no_snapshot_starts_empty_and_drops_a_stale_checkpoint(client: Any, tmp_path: Path) -> None:
    (tmp_path / CHECKPOINT_NAME).write_text("{}")

    assert LocalData(tmp_path, unlocked).restore() is None
    assert not (tmp_path / CHECKPOINT_NAME).exists()


def test_an_unreadable_snapshot_is_moved_aside_not_deleted(client: Any, tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT_NAME).write_bytes(b"not a pickle")

    with pytest.raises(UnreadableSnapshotError, match="moved to"):
        LocalData(tmp_path, unlocked).restore()

    [aside] = tmp_path.glob(f"{SNAPSHOT_NAME}.unreadable-*")
    assert aside.read_bytes() == b"not a pickle"
    assert not (tmp_path / SNAPSHOT_NAME).exists()


def test_reset_removes_only_its_own_files(client: Any, tmp_path: Path) -> None:
    LocalData(tmp_path, unlocked).save()
    (tmp_path / CHECKPOINT_NAME).write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")

    removed = reset(tmp_path)

    assert {path.name for path in removed} == {SNAPSHOT_NAME, CHECKPOINT_NAME}
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]

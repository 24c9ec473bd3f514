"""A pytest plugin (registered in the root conftest): an embedded DynamoDB server in its own
process (`server`, in AWS limits mode for a module marked `aws_limits`; the `aws_limits` fixture
is the same mode in-process), the managers pointed at it (`live_dynamodb`), and a stream poller that feeds
the promotion function the way Lambda's event source mapping does (`stream_poller`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import config, limits
from local.dynamodb import server_process
from local.limits import Limits
from tests.builders import LambdaContext, matches_filter
from tests.helpers import promotion_filter_patterns, reset_process_caches


def limits_spec(marker: pytest.Mark | None) -> str | None:
    """`@pytest.mark.aws_limits(page_bytes=…, …)` as local.limits.Limits.parse reads it."""
    if marker is None:
        return None
    return ",".join(f"{name}={value}" for name, value in marker.kwargs.items()) or "on"


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The server of this module; in AWS limits mode when the module is marked `aws_limits`
    (or DYNAMODB_LIMITS says so for every server)."""
    with server_process(limits_spec(request.node.get_closest_marker("aws_limits"))) as endpoint:
        yield endpoint


@pytest.fixture
def aws_limits(request: pytest.FixtureRequest) -> Iterator[Limits]:
    """AWS limits mode for an in-process (mock_aws) test, as its `aws_limits` marker sets it."""
    spec = limits_spec(request.node.get_closest_marker("aws_limits")) or "on"
    with limits.aws_limits(Limits.parse(spec)) as chosen:
        yield chosen


@pytest.fixture
def live_dynamodb(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DYNAMODB_ENDPOINT", server)
    reset_process_caches()
    client = boto3.client("dynamodb", endpoint_url=server, region_name="us-east-1")
    config.create_tables(client)
    config.create_event_buses(boto3.client("events", endpoint_url=server, region_name="us-east-1"))
    yield client
    reset_process_caches()


class StreamPoller:
    """Reads the Registrations stream and invokes the promotion handler with each batch that passes
    serverless.yml's filter, like Lambda's event source mapping (retrying failed batches)."""

    def __init__(self, client: Any, endpoint: str, table: str) -> None:
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1")
        self._arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self._patterns = promotion_filter_patterns()
        self._iterators: dict[str, str] = {}
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors: list[BaseException] = []

    def start(self) -> StreamPoller:
        for shard in self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]:
            self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
        self._thread.start()
        return self

    def poll_once(self) -> int:
        from functions.promotion import handler

        delivered = 0
        for shard_id, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=100)
            records = [{**r, "eventSourceARN": self._arn} for r in response["Records"]]
            self.records.extend(records)
            batch = [r for r in records if any(matches_filter(r, p) for p in self._patterns)]
            while batch:
                result = handler.lambda_handler({"Records": batch}, LambdaContext())
                failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
                batch = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
            delivered += len(records)
            self._iterators[shard_id] = response["NextShardIterator"]
        return delivered

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    time.sleep(0.02)
            except BaseException as exc:
                self.errors.append(exc)
                return

    def drain(self) -> None:
        """Stops the background thread, then reads until the stream has nothing more."""
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self.errors, self.errors
        while self.poll_once():
            pass


@pytest.fixture
def stream_poller(live_dynamodb: Any, server: str) -> Iterator[StreamPoller]:
    from shared.config import get_settings

    poller = StreamPoller(live_dynamodb, server, get_settings().registrations_table).start()
    yield poller
    poller._stop.set()

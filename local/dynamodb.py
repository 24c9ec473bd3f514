"""The embedded DynamoDB: moto's server, one request at a time.

moto's DynamoDB backend is not thread-safe: a transaction deep-copies the tables it touches and
restores that copy when it is cancelled, which would silently undo writes that other threads made
meanwhile. Real DynamoDB applies each request atomically; serialising requests gives the local
stack and the concurrency tests the same guarantee (and DynamoDB Streams keep working).

    python -m local.dynamodb --port 8000 [--limits SPEC]

`--limits` (or DYNAMODB_LIMITS in the environment) switches on the AWS limits mode: 1 MB pages,
transaction conflicts, size and count limits (local/limits.py). `server_process()` starts it that
way on a free port for the tests and benchmarks that need it in a process of its own.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local import limits as aws
from local.config import ROOT
from local.ports import free_ports

T = TypeVar("T")


def install_fast_transactions() -> None:
    """moto's TransactWriteItems deep-copies every table it touches (to roll back on failure), so
    its cost grows with the table: ~80 ms per registration at a few hundred items. Requests here
    run one at a time, so checking every condition first and then applying the writes is atomic
    and needs no copy. Same semantics: all conditions hold and every write applies, or nothing does
    and CancellationReasons says why, item by item."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_fast_transactions", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        targets: set[tuple[str, str]] = set()
        reasons: list[tuple[Any, Any, Any]] = []
        plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (op["TableName"], str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    old = None
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old = current.to_json()["Attributes"]
                    reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
                    continue
            reasons.append((None, None, None))
            plan.append((op_type, op, key))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        # A write can still fail (an update expression invalid for the stored item): put back the
        # items already written, so that nothing of the transaction stays.
        before = [(op["TableName"], key, self.get_item(op["TableName"], key)) for _, op, key in plan]
        before = [(table, key, item.to_json()["Attributes"] if item else None) for table, key, item in before]
        try:
            for op_type, op, key in plan:
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(op["TableName"], op["Item"])
                elif op_type == "Delete":
                    self.delete_item(op["TableName"], key)
                elif op_type == "Update":
                    self.update_item(
                        op["TableName"],
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
        except Exception:
            for table, key, attributes in before:
                if attributes is None:
                    self.delete_item(table, key)
                else:
                    self.put_item(table, attributes)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend._fast_transactions = True  # type: ignore[attr-defined]


class SerializedApp:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock, aws.serving(self.lock):
            # Drain the body inside the lock: the response must be complete before the next request.
            # (A transaction of the limits mode with `transaction_ms` lets go of it while in flight.)
            return list(self._app(environ, start_response))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class EmbeddedDynamoDB:
    """moto server on a background thread; `endpoint` is its URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, limits: aws.Limits | None = None) -> None:
        install_fast_transactions()
        if limits is not None:
            aws.enable(limits)
        self._app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def locked(self, action: Callable[[], T]) -> T:
        """Runs `action` between two requests: it sees no request half-applied."""
        with self._app.lock:
            return action()

    def start(self) -> EmbeddedDynamoDB:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def server_process(limits: str | None = None, started_within: float = 30.0) -> Iterator[str]:
    """`python -m local.dynamodb` on a free port (in AWS limits mode when `limits` is a spec such
    as `transaction_ms=10`), until the block ends; yields its endpoint once it accepts connections."""
    [port] = free_ports(1)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dynamodb", "--port", str(port), *(["--limits", limits] if limits else [])],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + started_within
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the embedded DynamoDB did not start on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--limits",
        help=f"AWS limits mode (default: ${aws.ENVIRONMENT}): 'on' or e.g. 'page_bytes=4096,conflict_rate=0.1,seed=1'",
    )
    args = parser.parse_args()
    limits = aws.Limits.parse(args.limits) if args.limits else aws.from_environment()
    server = EmbeddedDynamoDB(args.host, args.port, limits).start()
    print(f"DynamoDB (moto) listening on {server.endpoint}" + (f", {limits}" if limits else ""), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()

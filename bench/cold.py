"""Cold start of every function, the floor and the monolith: a fresh process that imports the
handler module AND serves its first request, timed from outside (wall time of the whole process),
against a shared moto server (local.dynamodb, seeded once). Also the peak RSS of that process after
its first request (resource.getrusage inside the child).

    .venv/bin/python -m bench.cold --runs 15 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    FAKE_AWS,
    FLOOR,
    MONOLITH,
    ROOT,
    event_for,
    function_environment,
    functions,
    median,
    prepare,
    seed,
    write_json,
)

# The child: read the event, import the handler, serve, report. Only json/sys/resource before the
# import (every handler imports json anyway); the context is a plain object, as Lambda's is.
CHILD = r"""
import json, sys, resource
event = json.loads(sys.argv[2])
class Context:
    function_name = "bench"; function_version = "$LATEST"; memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"; aws_request_id = "cold"
    def get_remaining_time_in_millis(self): return 10000
module = __import__(sys.argv[1], fromlist=["_"])
status = None
if sys.argv[1].endswith(".floor"):
    pass
elif sys.argv[1].endswith(".monolith"):
    status = module.handler(event, Context())["statusCode"]
else:
    result = module.lambda_handler(event, Context())
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
# VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss over fork + exec, VmHWM starts afresh.
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")]
rss = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write("\nBENCH " + json.dumps({"status": status, "rss_kb": rss}))
"""
FLOOR_CALL = "floor + 1 GetItem"


def child(module: str, event: dict[str, Any], env: dict[str, str], python: str = sys.executable) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run(
        [python, "-c", CHILD, module, json.dumps(event)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    lines = [line for line in result.stderr.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{module} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return {"ms": wall_ms, **json.loads(lines[-1][6:])}


FLOOR_CALL_CODE = (
    "import os, boto3; c = boto3.client('dynamodb', region_name='us-east-1', "
    "endpoint_url=os.environ['DYNAMODB_ENDPOINT']); c.get_item(TableName=os.environ['EVENTS_TABLE'], "
    "Key={'eventId': {'S': 'bench-open'}})"
)


def run(runs: int, names: list[str] | None = None) -> dict[str, Any]:
    from local import config
    from local.dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB("127.0.0.1", 0).start()
    try:
        os.environ.update(FAKE_AWS)
        os.environ.update({k: v for k, v in config.environment().items()})
        os.environ["DYNAMODB_ENDPOINT"] = server.endpoint
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        import boto3

        config.create_tables(boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1"))
        from tests.builders import ApiClient

        api = ApiClient()
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' EMF metrics
            seed(api)
        env = function_environment(DYNAMODB_ENDPOINT=server.endpoint)
        modules = functions()
        targets = ["floor", FLOOR_CALL, "monolith", *(names or list(modules))]
        samples: dict[str, list[dict[str, Any]]] = {target: [] for target in targets}
        # One discarded warm-up per target (file cache), then round-robin so load drift hits all alike.
        for round_ in range(-1, runs):
            for target in targets:
                index = round_ + 1 if round_ >= 0 else 10_000
                if target == "floor":
                    sample = child(FLOOR, {}, env)
                elif target == FLOOR_CALL:
                    started = time.perf_counter()
                    subprocess.run([sys.executable, "-c", FLOOR_CALL_CODE], cwd=ROOT, env=env, check=True)
                    sample = {"ms": (time.perf_counter() - started) * 1000, "status": None, "rss_kb": 0}
                else:
                    with contextlib.redirect_stdout(io.StringIO()):
                        prepare(target, index, api)
                    module = MONOLITH if target == "monolith" else modules[target]
                    sample = child(module, event_for(target, index), env)
                    if sample["status"] is not None and sample["status"] >= 500:
                        raise RuntimeError(f"{target} answered {sample['status']}")
                if round_ >= 0:
                    samples[target].append(sample)
    finally:
        server.stop()
    return {
        "runs": runs,
        "targets": {
            target: {
                "median_ms": median([s["ms"] for s in values]),
                "min_ms": min(s["ms"] for s in values),
                "rss_mb": median([s["rss_kb"] / 1024 for s in values]),
                "status": values[-1]["status"],
                "module": MONOLITH if target == "monolith" else FLOOR if target == "floor" else functions().get(target),
            }
            for target, values in samples.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", nargs="*", help="function names (default: all)")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.runs, args.only))


if __name__ == "__main__":
    main()

"""Cold start of every function beside the floor and the monolith, in the development virtualenv:
a fresh process that imports the handler module AND serves its first request, timed from outside
(wall time of the whole process), against a shared moto server (local.dynamodb, seeded once); a
fresh process that imports it and creates its DynamoDB client (what the floor does); and the peak
RSS of the first-request process. bench/package.py runs the same loop on the deployment package.
`profile` breaks one module's import down (`python -X importtime`) by package group, for the
table `make bench` adds; `garbage_collection` times the cyclic collector during an import.

    .venv/bin/python -m bench.cold --runs 11 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
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

# The child: read the event, import the module, then serve the event ("request") or create the
# DynamoDB client ("client"), report (with the botocore it ran on and, where our session was
# created, whether it had the preloaded models). Only json/sys before the import (every handler
# imports json anyway); the context is a plain object, as Lambda's is.
CHILD = r"""
import json, sys
mode, name = sys.argv[1], sys.argv[2]
event = json.loads(sys.argv[3])
class Context:
    function_name = "bench"; function_version = "$LATEST"; memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"; aws_request_id = "cold"
    def get_remaining_time_in_millis(self): return 10000
module = __import__(name, fromlist=["_"])
status = None
if mode == "client":
    dynamo = sys.modules.get("shared.repositories.dynamo")  # absent where a function makes no AWS call
    if dynamo is not None:
        dynamo.get_client()
elif name.endswith(".floor"):
    if mode == "call":
        import os
        module.client.get_item(TableName=os.environ["EVENTS_TABLE"], Key={"eventId": {"S": "bench-open"}})
elif name.endswith(".monolith"):
    status = module.handler(event, Context())["statusCode"]
else:
    result = module.lambda_handler(event, Context())
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
# VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss over fork + exec, VmHWM starts afresh.
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")]
botocore = sys.modules.get("botocore")
clients = sys.modules.get("shared.repositories.clients")
preloaded = None
if clients is not None and clients.session.cache_info().currsize:  # only a session already made
    loader = clients.session()._session.get_component("data_loader")
    preloaded = type(loader).__name__ == "PreloadedLoader"
sys.stderr.write("\nBENCH " + json.dumps({
    "status": status, "rss_kb": hwm[0] if hwm else 0,
    "botocore": getattr(botocore, "__version__", None), "preloaded": preloaded,
}))
"""
FLOOR_CALL = "floor + 1 GetItem"
# The functions measured once more in each of Environment.variants.
VARIANT_SAMPLE = ("getEvent", "register", "listUserWaitlist")


@dataclass
class Environment:
    """Where the children run: the interpreter, and the environment and directory per kind of
    target ("function", "floor", "monolith", and each kind in `variants`: the functions in another
    setting, e.g. a runtime with another boto3, named by the label of its rows)."""

    python: str
    env: dict[str, dict[str, str]]
    cwd: dict[str, Path] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)

    def run(self, kind: str, mode: str, module: str, event: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        result = subprocess.run(
            [self.python, "-c", CHILD, mode, module, json.dumps(event)],
            cwd=self.cwd.get(kind, ROOT),
            env=self.env[kind],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall_ms = (time.perf_counter() - started) * 1000
        lines = [line for line in result.stderr.splitlines() if line.startswith("BENCH ")]
        if result.returncode != 0 or not lines:
            raise RuntimeError(f"{module} ({mode}) failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return {"ms": wall_ms, **json.loads(lines[-1][6:])}


# Top-level modules grouped the way a cold-start budget is discussed.
GROUPS = {
    "Powertools": {"aws_lambda_powertools"},
    "pydantic": {"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"},
    "boto3/botocore": {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"},
    "project": {"shared", "functions"},
}
WATCHED = ("aws_xray_sdk", "boto3", "botocore")
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


@dataclass(frozen=True)
class Import:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


@dataclass
class Profile:
    imports: list[Import]
    chains: dict[str, list[str]] = field(default_factory=dict)

    def top(self, count: int = 5) -> list[Import]:
        return sorted(self.imports, key=lambda item: item.self_us, reverse=True)[:count]

    def by_group(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for item in self.imports:
            root = item.name.split(".")[0]
            group = next((name for name, members in GROUPS.items() if root in members), "stdlib & other")
            totals[group] += item.self_us / 1000
        return totals


def _python(code: str, env: Mapping[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`python -c {code!r}` failed:\n{result.stderr}")
    return result


def profile(module: str, env: Mapping[str, str]) -> Profile:
    """`python -X importtime -c "import module"`, parsed; plus the chain that first imports each
    watched package (root → … → package), read from importtime's post-order, indented output."""
    stderr = _python(f"import {module}", env, "-X", "importtime").stderr
    imports = [
        Import(int(match[1]), int(match[2]), len(match[3]) // 2, match[4])
        for match in map(_IMPORTTIME.match, stderr.splitlines())
        if match
    ]
    chains = {}
    for watched in WATCHED:
        index = next((i for i, item in enumerate(imports) if item.name == watched), None)
        if index is None:
            continue
        chain = [imports[index].name]
        depth = imports[index].depth
        for item in imports[index + 1 :]:
            if item.depth < depth:
                chain.append(item.name)
                depth = item.depth
        chains[watched] = chain[::-1]
    return Profile(imports, chains)


_GC_PROBE = """
import gc, json, sys, time
spent, started, collections = [0.0], [0.0], [0, 0, 0]
def watch(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        spent[0] += time.perf_counter() - started[0]
        collections[info["generation"]] += 1
gc.callbacks.append(watch)
begin = time.perf_counter()
__import__(sys.argv[1])
total = time.perf_counter() - begin
sys.stderr.write(json.dumps({"gc_ms": spent[0] * 1000, "import_ms": total * 1000, "collections": collections}))
"""


def garbage_collection(module: str, env: Mapping[str, str], runs: int = 3) -> dict[str, Any]:
    """Time the cyclic garbage collector spends during the import (gc.callbacks), median of runs:
    pydantic, Powertools and botocore create enough objects at import to set off many collections
    (functions/__init__.py pauses it for that reason). {"gc_ms", "import_ms", "collections"}."""
    samples = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", _GC_PROBE, module], cwd=ROOT, env=dict(env), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"gc probe of {module} failed:\n{result.stderr}")
        samples.append(json.loads(result.stderr.strip().splitlines()[-1]))
    samples.sort(key=lambda sample: sample["gc_ms"])
    return samples[len(samples) // 2]


@contextlib.contextmanager
def dynamodb() -> Iterator[tuple[str, Any]]:
    """The embedded DynamoDB with the tables and the seed data; yields its endpoint and an
    in-process API client that prepares what each request needs."""
    from local import config
    from local.dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB("127.0.0.1", 0).start()
    try:
        os.environ.update(FAKE_AWS)
        os.environ.update(dict(config.environment().items()))
        os.environ["DYNAMODB_ENDPOINT"] = server.endpoint
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        import boto3

        config.create_tables(boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1"))
        from tests.builders import ApiClient

        api = ApiClient()
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' EMF metrics
            seed(api)
        yield server.endpoint, api
    finally:
        server.stop()


def measure(
    environment: Environment, api: Any, runs: int, names: list[str] | None, first_run: int = 0
) -> dict[str, Any]:
    """Every target, round-robin (one discarded warm-up round for the file cache), so that load
    drifting on the machine hits the floor, the monolith and every function alike. Per function:
    import + first request (with its peak RSS) and import + DynamoDB client."""
    modules = {name: module for name, module in functions().items() if not names or name in names}
    plan: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
        ("floor", "client", lambda _: environment.run("floor", "client", FLOOR, {})),
        (FLOOR_CALL, "request", lambda _: environment.run("floor", "call", FLOOR, {})),
        ("monolith", "request", lambda i: request(environment, api, "monolith", MONOLITH, i)),
    ]
    for name, module in modules.items():
        plan.append((name, "request", functools.partial(request, environment, api, name, module)))
        plan.append((name, "client", functools.partial(client_only, environment, module)))
    for offset, (kind, variant) in enumerate(environment.variants.items(), start=1):
        # A few functions once more in another setting, in the same rounds.
        for name in (n for n in VARIANT_SAMPLE if n in modules):
            label, module = f"{name} ({variant})", modules[name]
            # Its own run numbers: the same request, not a repeat of the one above (409).
            once_more = functools.partial(variant_request, environment, api, kind, offset * 50_000, name, module)
            plan.append((label, "request", once_more))
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {(name, mode): [] for name, mode, _ in plan}
    for round_ in range(-1, runs):
        for name, mode, call in plan:
            sample = call(first_run + round_ + 1 if round_ >= 0 else first_run + 10_000)
            if sample["status"] is not None and sample["status"] >= 500:
                raise RuntimeError(f"{name} answered {sample['status']}")
            if round_ >= 0:
                samples[(name, mode)].append(sample)

    def summary(values: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "median_ms": median([s["ms"] for s in values]),
            "min_ms": min(s["ms"] for s in values),
            "rss_mb": median([s["rss_kb"] / 1024 for s in values]),
            "status": values[-1]["status"],
            "botocore": values[-1].get("botocore"),
            "preloaded": values[-1].get("preloaded"),
        }

    targets: dict[str, dict[str, Any]] = {}
    for (name, mode), values in samples.items():
        targets.setdefault(name, {})[mode] = summary(values)
    return {"runs": runs, "python": environment.python, "targets": targets}


def request(environment: Environment, api: Any, name: str, module: str, run: int, kind: str = "") -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        prepare(name, run, api)
    kind = kind or ("monolith" if name == "monolith" else "function")
    return environment.run(kind, "request", module, event_for(name, run))


def variant_request(
    environment: Environment, api: Any, kind: str, offset: int, name: str, module: str, run: int
) -> dict[str, Any]:
    """`request` in the variant `kind`, on run numbers of its own."""
    return request(environment, api, name, module, run + offset, kind)


def client_only(environment: Environment, module: str, run: int) -> dict[str, Any]:
    return environment.run("function", "client", module, {})


def run(runs: int, names: list[str] | None = None) -> dict[str, Any]:
    with dynamodb() as (endpoint, api):
        env = function_environment(DYNAMODB_ENDPOINT=endpoint)
        venv = Environment(sys.executable, {"function": env, "floor": env, "monolith": env})
        result = measure(venv, api, runs, names)
    result["python"] = f"Python {sys.version.split()[0]} ({os.path.relpath(sys.executable, ROOT)})"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", nargs="*", help="function names (default: all)")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.runs, args.only))


if __name__ == "__main__":
    main()

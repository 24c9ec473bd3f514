"""`make bench`: every benchmark in one run, a table on stdout, and bench/RESULTS.md rewritten with
the machine, the date and the exact commands. `--smoke` (make bench-smoke): the same code paths
with tiny counts, a few functions, no RESULTS.md; it asserts nothing about timing.

A phase that fails does not take the others with it: its section says that it failed, with the end
of its error output, every finished phase is rendered and RESULTS.md written all the same, and the
run exits non-zero.

    .venv/bin/python -m bench [--smoke] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import ROOT, functions

FULL = {
    "cold": ["--runs", "11"],
    "warm": ["--calls", "1000"],
    "load": ["--registrations", "500", "--clients", "500", "--capacity", "100", "--unregistrations", "100"],
    "hot_event": [
        "--requests",
        "10000",
        "--capacity",
        "1000",
        "--shards",
        "20",
        "--threads",
        "64",
        "--transaction-ms",
        "10",
        "--offered",
        "25",
        "--offered-transaction-ms",
        "400",
    ],
    "package": ["--runs", "11"],
    "positions": ["--lengths", "1000", "20000"],
}
SMOKE = {
    "cold": ["--runs", "1", "--only", "health", "register"],
    "warm": ["--calls", "3"],
    "load": ["--registrations", "12", "--clients", "12", "--capacity", "4", "--unregistrations", "2"],
    "hot_event": [
        "--requests",
        "50",
        "--capacity",
        "10",
        "--shards",
        "4",
        "--threads",
        "16",
        "--transaction-ms",
        "10",
        "--offered",
        "25",
        "--offered-transaction-ms",
        "40",
        "--offered-threads",
        "32",
    ],
    "package": ["--runs", "1", "--only", "register"],
    "positions": ["--lengths", "120"],
}
# Two at a time only where neither is CPU-bound for long: the hot-event burst saturates both cores.
GROUPS = [("cold", "package"), ("warm",), ("load",), ("positions",), ("hot_event",)]
PROFILED = ["functions.registrations.register", "bench.baselines.monolith"]


class PhaseFailed(Exception):
    """A phase exited non-zero (or wrote no results): what it printed last."""


def phase(name: str, args: list[str], out: Path) -> tuple[dict[str, Any], str]:
    """Runs one phase in its own process; its error output is shown as it comes and its end kept,
    so that a failure can be told in RESULTS.md."""
    command = [sys.executable, "-m", f"bench.{name}", *args, "--json", str(out / f"{name}.json")]
    shown = " ".join([os.path.relpath(sys.executable, ROOT), "-m", f"bench.{name}", *args, "--json", "…"])
    print(f"[bench] {shown}", file=sys.stderr, flush=True)
    started = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=20)
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip())
    print(f"[bench]   {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    result = out / f"{name}.json"
    if process.returncode != 0 or not result.exists():
        raise PhaseFailed(f"`{shown}` exited with status {process.returncode}:\n" + "\n".join(tail))
    return json.loads(result.read_text()), shown


def failed(name: str, results: dict[str, Any]) -> list[str]:
    """The section of a phase that did not finish: why, in its own words."""
    return ["**This phase failed; its numbers are missing from this run.**", "", "```", results[name]["failed"], "```"]


def profiles() -> dict[str, dict[str, float]]:
    from bench.cold import profile
    from bench.common import function_environment

    env = function_environment()
    return {module: profile(module, env).by_group() for module in PROFILED}


def x(value: float) -> str:
    return f"{value:.2f}×"  # noqa: RUF001 - a ratio


def ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def cold_table(phase: dict[str, Any]) -> list[str]:
    """Import + first request, import + client and peak RSS of every function, beside the floor and
    the monolith measured in the same rounds, and whether the goals hold."""
    t = phase["targets"]
    floor, mono = t["floor"]["client"]["median_ms"], t["monolith"]["request"]["median_ms"]
    mono_rss = t["monolith"]["request"]["rss_mb"]
    lines = [
        f"Whole-process wall time of a fresh `python -c`, median of {phase['runs']} rounds (every target in "
        "each round, round-robin, after one discarded warm-up round), against one shared moto server "
        "(`local.dynamodb`, seeded once). *import + first request*: import the handler module and serve one "
        "request (which creates the DynamoDB client). *import + client*: import it and create its DynamoDB "
        "client, as the floor does. Floor: `bench/baselines/floor.py` (`import boto3` + one DynamoDB client). "
        "Monolith: `bench/baselines/monolith.py` (FastAPI + Mangum) serving a registration. Peak RSS: VmHWM "
        "of the first-request process. Goals: import + first request ≤ 1.25× the floor and ≤ 0.60× the monolith.",  # noqa: RUF001
        "",
        "| function | status | import + first request (ms) | / floor | / monolith | goals "
        "| import + client (ms) | / floor | peak RSS (MB) | / monolith |",
        "|---|---|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    for name, modes in t.items():
        first = modes.get("request") or modes["client"]
        client = modes.get("client") if "request" in modes else None
        baseline = name in ("floor", "floor + 1 GetItem", "monolith")
        within = first["median_ms"] <= 1.25 * floor and first["median_ms"] <= 0.6 * mono
        rss = first["rss_mb"]
        lines.append(
            f"| {f'*{name}*' if baseline else name} | {first['status'] if first['status'] is not None else '—'} "
            f"| {ms(first['median_ms'])} | {x(first['median_ms'] / floor)} | {x(first['median_ms'] / mono)} "
            f"| {'' if baseline else 'met' if within else '**not met**'} "
            f"| {ms(client['median_ms']) if client else '—'} | {x(client['median_ms'] / floor) if client else '—'} "
            f"| {f'{rss:.0f}' if rss else '—'} | {x(rss / mono_rss) if rss else '—'} |"
        )
    return lines


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return "?"
    models = (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line)
    return next(models, "?")


def package_section(package: dict[str, Any]) -> list[str]:
    pins, other = package["pins"], package["other_runtime"]
    return [
        f"`osls package` → the zip ({package['pyc_in_zip']} `.pyc` added by `plugins/bytecode.js`; boto3 "
        f"{pins['boto3']} and botocore {pins['botocore']} inside, at their pins) extracted to a read-only "
        "directory (`chmod a-w`), `PYTHONDONTWRITEBYTECODE=1`, first on the path as in Lambda (`/var/task` before "
        "`/var/runtime`); then a separate python3.12 directory for the runtime's own libraries, boto3 at the pins "
        "with its bytecode, which the floor and the monolith (FastAPI, Mangum, pydantic installed for python3.12 "
        f"with bytecode) import theirs from. Rows *(runtime boto3 {other['boto3']})*: the same functions over a "
        f"runtime directory holding boto3 {other['boto3']} / botocore {other['botocore']} instead; each still ran "
        f"on the package's botocore {pins['botocore']} with its preloaded models (the bench checks every function "
        "and fails otherwise).",
        "",
        *cold_table(package),
    ]


WARM_GOAL = 0.5  # issue #12: warm p50 at most half the monolith's, every route


def warm_goal(ratio: float, least: float) -> str:
    if ratio <= WARM_GOAL:
        return "met"
    return "out of reach" if least > WARM_GOAL else "not met"


def warm_section(warm: dict[str, Any]) -> list[str]:
    lines = [
        f"Each handler called {warm['calls']} times with an API Gateway event on moto (`mock_aws`, tables from "
        "serverless.yml, the local stack's atomic TransactWriteItems instead of moto's table copies), ours and "
        "the monolith's (via Mangum) interleaved, same data. Round trips: `before-call.dynamodb.*` events per call. "
        "*boto3 client*: the time inside the DynamoDB client's calls (each from entering the client until it "
        "returns: building, validating and serialising the request, signing, moto's work, parsing the response); "
        "of it, *DynamoDB*: `before-call` to `after-call` alone. *Own code*: the rest of the request (the resolver, "
        "validation, logging, metrics, the side's own logic). *Least possible*: our boto3 client time alone over "
        "the monolith's whole request, the ratio this route would have if its own code took no time, with the "
        f"calls it makes (the data model's minimum). Goal: p50 ratio ≤ {x(WARM_GOAL)}; *out of reach* where even "
        "the least possible ratio is above it.",
        "",
        "| operation | ours p50 / p99 (ms) | monolith p50 / p99 (ms) | p50 ratio | p99 ratio "
        "| boto3 client p50 ours / monolith (ms) | of it DynamoDB (ms) | own code p50 ours / monolith (ms) "
        "| own ratio | least possible | goal | round trips ours | monolith | minimum (data-model.md) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for name, value in warm["operations"].items():
        ours, mono_ = value["ours"], value["mono"]
        ratio, least = ours["p50_ms"] / mono_["p50_ms"], ours["client_p50_ms"] / mono_["p50_ms"]
        lines.append(
            f"| {name} | {ms(ours['p50_ms'])} / {ms(ours['p99_ms'])} | {ms(mono_['p50_ms'])} / {ms(mono_['p99_ms'])} "
            f"| {x(ratio)} | {x(ours['p99_ms'] / mono_['p99_ms'])} "
            f"| {ms(ours['client_p50_ms'])} / {ms(mono_['client_p50_ms'])} "
            f"| {ms(ours['dynamodb_p50_ms'])} / {ms(mono_['dynamodb_p50_ms'])} "
            f"| {ms(ours['own_p50_ms'])} / {ms(mono_['own_p50_ms'])} | {x(ours['own_p50_ms'] / mono_['own_p50_ms'])} "
            f"| {x(least)} | {warm_goal(ratio, least)} "
            f"| {ours['round_trips']} ({', '.join(ours['operations'])}) | {mono_['round_trips']} "
            f"({', '.join(mono_['operations'])}) | {value['minimum']} |"
        )
    return lines


def load_section(load: dict[str, Any]) -> list[str]:
    return [
        f"{load['registrations']} registrations for one event (capacity {load['capacity']}, waitlist on) from "
        f"{load['clients']} concurrent clients at once, from cold (nothing warmed first). Then "
        f"{load['unregistrations']} unregistrations of confirmed users, all at once, and the time from each "
        "DELETE's answer until the head it freed a seat for is listed as confirmed (the stream-driven promotion).",
        "",
        "| requests/s | p50 (ms) | p99 (ms) | answers | errors | final state | promoted | promotion p50 (ms) "
        "| promotion max (ms) |",
        "|--:|--:|--:|---|--:|---|--:|--:|--:|",
        f"| {load['rps']:.1f} | {ms(load['p50_ms'])} | {ms(load['p99_ms'])} | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(load['statuses'].items()))} | {load['errors']} | "
        f"{load['confirmed']} confirmed, {load['waiting']} waiting, positions 1..{load['waiting']}: "
        f"{'ok' if load['state_ok'] else 'WRONG'} | {load['promoted']}/{load['unregistrations']} "
        f"({'ok' if load['promotions_ok'] else 'WRONG'}) | {ms(load['promotion_p50_ms'])} | "
        f"{ms(load['promotion_max_ms'])} |",
    ]


def hot_section(hot: dict[str, Any]) -> list[str]:
    lines = [
        "**The shipped code in a burst.** `RegistrationManager.register_user` (its own transaction, then "
        "admission: docs/scaling.md) from many threads at once against the embedded DynamoDB server in "
        "AWS limits mode, each transaction holding its items for a while so that transactions truly "
        "overlap (one that meets another on an item is cancelled, as DynamoDB does). *Answered* counts "
        "every response; positions are checked against the event's waitlist as listed after, and "
        "every invariant of SPEC.md against what is stored. Requests/s are this 2-core machine's "
        "(client threads and the server share it), not DynamoDB's.",
        "",
        "*Closed loop*: that many threads register one after another as fast as they are answered. "
        "*Offered*: registration i starts at i/rate s whatever the answers (open loop), time-dilated: "
        "conflicts depend on how many transactions overlap on an item (λ·τ), so r registrations/s with "
        f"holds of τ ms offer what r·τ/{hot['tau_s'] * 1000:.0f} transactions/s offer DynamoDB at its "
        f"{hot['tau_s'] * 1000:.0f} ms — the *≙ offered* column, the rate this machine could not serve undilated. "
        "The calls that are not transactions (reads, polls) are not dilated.",
        "",
        "| scenario | load | requests | seats | transaction holds (ms) | ≙ offered tx/s at "
        f"{hot['tau_s'] * 1000:.0f} ms | 201 confirmed | 201 waitlisted "
        "| 409 full | 429 | other errors | positions 1..n as listed | invariants | via admission "
        "| direct tx cancelled by others | leader tx committed | lease writes | requests/s "
        "| p50 / p99 (s) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for b in hot.get("bursts", []):
        tx = b["transactions"]
        if b.get("rate"):
            load = f"offered {b['offered_per_s']:.1f}/s ({b['threads']} threads, latest start "
            load += f"{b['late_max_s']:.2f} s late)"
            equivalent = b["offered_at_tau_per_s"]
        else:
            load = f"closed loop, {b['threads']} threads"
            equivalent = b["requests_per_s"] * b["transaction_ms"] / (hot["tau_s"] * 1000)
        lines.append(
            f"| {b['scenario']} | {load} | {b['requests']:,} | {b['capacity']:,} | {b['transaction_ms']:.0f} "
            f"| {equivalent:,.0f} "
            f"| {b['confirmed']:,} | {b['waitlisted']:,} | {b['full_409']:,} | {b['gave_up_429']} "
            f"| {b['other_errors'] or 'none'} | {'exact' if b['positions_exact'] else 'NOT EXACT'} | {b['invariants']} "
            f"| {b['admission_requests']:,} | {tx.get('TransactionConflict', 0):,} | {b['leader_commits']:,} "
            f"| {b.get('lease_writes', 0):,} "
            f"| {b['requests_per_s']:.0f} | {b['latency_p50_s']:.2f} / {b['latency_p99_s']:.2f} |"
        )
    lines += [
        "",
        "**The model** (one request at a time on moto, busy cancellations injected at the rate the load "
        f"per item implies, τ = {hot['tau_s'] * 1000:.0f} ms; backoff recorded, not slept): one counter item "
        "without admission (the design before it: a registration only retries its own transaction), and "
        "the sharded-seat prototype (not shipped).",
        "",
        "| scenario | requests | seats | injected busy rate | 201 | 409 full | gave up (429) | attempts | conflicted "
        "| retried | registered | overbooked |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for s in hot["scenarios"]:
        lines.append(
            f"| {s['scenario']} | {s['requests']} | {s['capacity']} | {s['injected_busy_rate']:.3f} "
            f"| {s['answered_201']} | {s['answered_409_full']} | {s['gave_up']} | {s['transaction_attempts']} "
            f"| {s['conflicted']} | {s['retried']} | {s['registered_count']} | {'YES' if s['overbooked'] else 'no'} |"
        )
    return lines


def positions_section(positions: dict[str, Any]) -> list[str]:
    lines = [
        "A queue seeded into moto, 1 % of it leaving through the shipped code (so the tree of leavers "
        "is in use), then a newcomer's join and positions read through `GET /users/{id}/waitlist`'s "
        "manager. *Items read* is what DynamoDB bills reads by; the COUNT column is what the previous "
        "design's `Select=COUNT` (paged to the end) read for the same position.",
        "",
        "| queue | left | join: calls, items read | position at head / middle / tail: items read | ms "
        "| COUNT design: items read | ms | later page: first position | items written per leave | exact |",
        "|--:|--:|---|---|---|---|---|---|--:|---|",
    ]
    for q in positions["queues"]:
        points = [q["positions"][name] for name in ("head", "middle", "tail")]
        lines.append(
            f"| {q['length']:,} | {q['left']} | {len(q['join']['calls'])}, {q['join']['items_read']} "
            f"| {' / '.join(str(p['read']['items_read']) for p in points)} "
            f"| {' / '.join(ms(p['read']['ms']) for p in points)} "
            f"| {' / '.join(format(p['count_design']['items_read'], ',') for p in points)} "
            f"| {' / '.join(ms(p['count_design']['ms']) for p in points)} "
            f"| {q['later_page']['first_position']} (expected {q['later_page']['expected']}) "
            f"| {q['leave_items_written']:.0f} | {'yes' if q['exact'] else 'NO'} |"
        )
    return lines


def profile_section(profiles: dict[str, dict[str, float]]) -> list[str]:
    groups = sorted({g for p in profiles.values() for g in p})
    lines = ["| module | " + " | ".join(groups) + " |", "|---|" + "--:|" * len(groups)]
    for module, totals in profiles.items():
        lines.append(f"| `{module}` | " + " | ".join(ms(totals.get(g, 0.0)) for g in groups) + " |")
    return lines


SECTIONS: list[tuple[str, str, Any]] = [
    ("cold", "## 1. Cold start in the development virtualenv (with .pyc)", cold_table),
    (
        "package",
        "## 1b. Cold start of the deployment package, as Lambda imports it (python3.12, read-only, shipped bytecode)",
        package_section,
    ),
    ("warm", "## 2. Warm latency in-process, and 3. DynamoDB round trips", warm_section),
    ("load", "## 4. The local stack under a storm (`make run`: serverless-offline + embedded moto)", load_section),
    ("hot_event", "## 5. Hot event simulation (see docs/scaling.md)", hot_section),
    ("positions", '## 6. Waitlist positions on long queues (see docs/data-model.md, "Positions")', positions_section),
    ("profiles", "## Where import time goes (`python -X importtime`, with .pyc, self times, ms)", profile_section),
]


def python_of(results: dict[str, Any], name: str) -> str:
    return results[name].get("python", "(phase failed)")


def render(results: dict[str, Any], commands: dict[str, str], started: float, load_avg: tuple[float, ...]) -> str:
    broken = [name for name, value in results.items() if "failed" in value]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`{os.path.relpath(sys.executable, ROOT)} -m bench`) on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit {commit.strip()}, in "
        f"{(time.monotonic() - started) / 60:.1f} min."
        + (f" **Failed phases: {', '.join(broken)}** (their sections say why)." if broken else ""),
        "",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}; load average before "
        f"{' / '.join(f'{v:.1f}' for v in load_avg)}, after {' / '.join(f'{v:.1f}' for v in os.getloadavg())} "
        "(a shared, noisy machine: read the ratios, measured in the same run, not the milliseconds).",
        f"- {python_of(results, 'cold')} for the development virtualenv; {python_of(results, 'package')} for the "
        "deployment package, as Lambda runs it.",
        "- Commands (each phase is its own process; `…` is a temporary JSON file). Phases run in this "
        "order, those joined by + side by side (one per core), the others alone: "
        + ", ".join(" + ".join(group) for group in GROUPS)
        + ":",
        *[f"  - `{command}`" for command in commands.values()],
    ]
    for name, heading, section in SECTIONS:
        if name not in results:
            continue
        lines += ["", heading, "", *(failed(name, results) if name in broken else section(results[name]))]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    started, load_avg = time.monotonic(), os.getloadavg()
    plan = SMOKE if args.smoke else FULL
    assert functions(), "serverless.yml lists no functions"
    results: dict[str, Any] = {}
    commands: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as out, ThreadPoolExecutor(2) as pool:
        # Two phases at a time, one per core: each phase's ratios compare targets measured side by
        # side within that phase, so a neighbour slows both sides alike; the load test, which
        # wants every core, runs alone.
        for group in GROUPS:
            running = {name: pool.submit(phase, name, plan[name], Path(out)) for name in group}
            for name, future in running.items():
                try:
                    results[name], commands[name] = future.result()
                except PhaseFailed as exc:
                    results[name] = {"failed": str(exc)}
    try:
        results["profiles"] = profiles()
    except Exception as exc:  # told in RESULTS.md like a failed phase
        results["profiles"] = {"failed": f"{type(exc).__name__}: {exc}"}
    text = render(results, commands, started, load_avg)
    sys.stdout.write(text)
    if not args.smoke:
        args.results.write_text(text)
    broken = [name for name, value in results.items() if "failed" in value]
    if broken:
        print(f"[bench] failed phases: {', '.join(broken)} (the others are in the results)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

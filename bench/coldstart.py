"""Cold import time of every function in serverless.yml, beside the floor any DynamoDB Lambda pays
(`import boto3; boto3.client('dynamodb')`), and what each module pulls in at import time.

    .venv/bin/python bench/coldstart.py            # 15 runs per target, writes bench/RESULTS.md
    .venv/bin/python bench/coldstart.py --quick    # 3 runs, for a smoke check

Each run is a whole fresh process (`python -c "import functions.x.y"`), timed from outside with
time.perf_counter, so it needs nothing but Python (no hyperfine). Targets are measured round-robin
(both bytecode situations in the same rounds), after one discarded warm-up each, so drift in the
machine's load spreads over all of them.

Two bytecode situations are timed:
- "with .pyc": every module has its cached bytecode, as on a developer machine;
- "as deployed": the function code and the packaged requirements have no .pyc, as in the zip
  `serverless package` builds (`package.patterns` drops __pycache__, and serverless-python-
  requirements' `slim: true` deletes every *.pyc), while the standard library and the
  runtime-provided `noDeploy` packages (boto3, botocore, …) keep theirs. Simulated with a
  PYTHONPYCACHEPREFIX that holds only the bytecode the Lambda runtime would have."""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.config import environment as provider_environment  # noqa: E402
from local.config import load  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Cold import"
INTERPRETER = "pass"
FLOOR = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
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


def functions() -> list[tuple[str, str]]:
    """(serverless function name, module) for every function in serverless.yml."""
    return [(name, spec["handler"].rsplit(".", 1)[0].replace("/", ".")) for name, spec in load()["functions"].items()]


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


@dataclass(frozen=True)
class GarbageCollection:
    gc_ms: float
    import_ms: float
    collections: list[int]


def garbage_collection(module: str, env: Mapping[str, str], runs: int = 3) -> GarbageCollection:
    """Time the cyclic garbage collector spends during the import (gc.callbacks), median of runs:
    pydantic, Powertools and botocore create enough objects at import to set off many collections."""
    samples = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", _GC_PROBE, module], cwd=ROOT, env=dict(env), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"gc probe of {module} failed:\n{result.stderr}")
        samples.append(json.loads(result.stderr.strip().splitlines()[-1]))
    samples.sort(key=lambda sample: sample["gc_ms"])
    middle = samples[len(samples) // 2]
    return GarbageCollection(middle["gc_ms"], middle["import_ms"], middle["collections"])


def base_environment() -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(provider_environment())
    env.update(FAKE_AWS)
    return env


def run(code: str, env: Mapping[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
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


def wall_ms(code: str, env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    run(code, env)
    return (time.perf_counter() - start) * 1000


def measure(
    targets: Mapping[str, str], runs: int, environments: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, list[float]]]:
    """Wall times (ms) of a fresh process per target and environment, after one warm-up each.
    Round-robin over every (environment, target) pair, so a change of load on the machine hits
    every column alike instead of skewing one of them."""
    pairs = [(mode, label) for mode in environments for label in targets]
    for mode, label in pairs:
        run(targets[label], environments[mode])
    samples: dict[str, dict[str, list[float]]] = {mode: {label: [] for label in targets} for mode in environments}
    for _ in range(runs):
        for mode, label in pairs:
            samples[mode][label].append(wall_ms(targets[label], environments[mode]))
    return samples


def profile(module: str, env: Mapping[str, str]) -> Profile:
    """`python -X importtime -c "import module"`, parsed; plus the chain that first imports each
    watched package (root → … → package), read from importtime's post-order, indented output."""
    stderr = run(f"import {module}", env, "-X", "importtime").stderr
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


def _source_of(pyc: Path, prefix: Path) -> Path:
    relative = pyc.relative_to(prefix)
    name = relative.name.split(".")[0] + ".py"
    return Path("/") / relative.parent / name


def deployed_bytecode(codes: Iterable[str], env: Mapping[str, str]) -> Path:
    """A PYTHONPYCACHEPREFIX holding bytecode only for what the Lambda runtime brings: the standard
    library and the `noDeploy` packages. Function code and packaged requirements get none."""
    prefix = Path(tempfile.mkdtemp(prefix="coldstart-pyc-"))
    run("; ".join(codes), {**env, "PYTHONPYCACHEPREFIX": str(prefix)})
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    provided = {dist.lower() for dist in load()["custom"]["pythonRequirements"].get("noDeploy", [])}
    runtime_modules = {
        module for module, dists in packages_distributions().items() if any(d.lower() in provided for d in dists)
    }
    for pyc in list(prefix.rglob("*.pyc")):
        source = _source_of(pyc, prefix)
        if source.is_relative_to(site_packages):
            top = source.relative_to(site_packages).parts[0].removesuffix(".py")
            if top not in runtime_modules:
                pyc.unlink()
        elif source.is_relative_to(ROOT):
            pyc.unlink()
    return prefix


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), cpu
        )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", "functions", "shared", "serverless.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    versions = {}
    for package in ("aws_lambda_powertools", "pydantic", "boto3", "botocore"):
        spec = importlib.util.find_spec(package)
        versions[package] = _version(package) if spec else "absent"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "os": platform.platform(),
        "commit": (commit.strip() or "unknown")
        + (" plus uncommitted changes to functions/, shared/ or serverless.yml" if changed.strip() else ""),
        "packages": ", ".join(f"{name} {version}" for name, version in versions.items()),
    }


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.1f}" for value in load)


def _ms(value: float) -> str:
    return f"{value:.0f}"


def render(
    command: str,
    runs: int,
    warm: dict[str, list[float]],
    deployed: dict[str, list[float]],
    modules: list[tuple[str, str]],
    profiles: dict[str, Profile],
    load_before: tuple[float, float, float],
    collections: Mapping[str, GarbageCollection],
) -> str:
    info = machine()
    load_after = os.getloadavg()
    floor_warm = statistics.median(warm["floor"])
    floor_deployed = statistics.median(deployed["floor"])
    lines = [
        SECTION,
        "",
        f"Produced by `{command}` on {info['date']}, commit {info['commit']}.",
        "",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['os']}",
        f"- Python: {info['python']}; {info['packages']}",
        f"- Load average (1/5/15 min) before: {_load(load_before)}, after: {_load(load_after)}; "
        "a busy machine inflates every figure, the ratios less so.",
        "- Lambda runs python3.12 on its own hardware: read the ratios, not the milliseconds.",
        f'- Each figure: median wall time of {runs} fresh processes `python -c "import functions.x.y"` '
        "(cwd = repo root, fake AWS credentials, the provider environment of serverless.yml), "
        "timed with `time.perf_counter` around `subprocess.run`; every target in both bytecode situations "
        "round-robin, after one warm-up.",
        f'- Floor: `python -c "{FLOOR}"`. Interpreter: `python -c "{INTERPRETER}"`.',
        "- *with .pyc*: all bytecode cached. *as deployed*: no bytecode for function code and packaged "
        "requirements (the package drops `__pycache__`, `slim: true` deletes `*.pyc`), bytecode kept "
        "for the standard library and the `noDeploy` packages the runtime provides.",
        '- Import profile: `python -X importtime -c "import functions.x.y"`, once, with .pyc. A module\'s self '
        "time includes any garbage-collection pause that happened while it ran, so a small module can "
        "look heavy (see the garbage-collection table).",
        "",
        "### Wall time",
        "",
        "| function | module | with .pyc (ms) | / floor | min (ms) | as deployed (ms) | / floor | min (ms) "
        "| boto3 at import | X-Ray SDK at import |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|---|",
    ]

    def timings(key: str) -> str:
        cells = []
        for samples, floor in ((warm[key], floor_warm), (deployed[key], floor_deployed)):
            median = statistics.median(samples)
            cells += [_ms(median), f"{median / floor:.2f}", _ms(min(samples))]
        return " | ".join(cells)

    for label, what in (("interpreter", INTERPRETER), ("floor", "boto3 + DynamoDB client")):
        lines.append(f"| *{label}* | `{what}` | {timings(label)} | | |")
    for name, module in modules:
        chains = profiles[module].chains
        boto = "yes, via " + " → ".join(chains["boto3"][1:-1]) if "boto3" in chains else "no"
        if "boto3" not in chains and "botocore" in chains:
            boto = "botocore only, via " + " → ".join(chains["botocore"][1:-1])
        xray = "**yes**, via " + " → ".join(chains["aws_xray_sdk"][1:-1]) if "aws_xray_sdk" in chains else "no"
        lines.append(f"| {name} | `{module}` | {timings(module)} | {boto} | {xray} |")
    lines += [
        "",
        "### Garbage collection during import (with .pyc, median of 3, measured in-process with gc.callbacks)",
        "",
        "| function | import (ms) | gc pauses (ms) | share | collections gen 0 / 1 / 2 |",
        "|---|--:|--:|--:|---|",
    ]
    for name, module in modules:
        gc_run = collections[module]
        lines.append(
            f"| {name} | {_ms(gc_run.import_ms)} | {_ms(gc_run.gc_ms)} | {gc_run.gc_ms / gc_run.import_ms:.0%} "
            f"| {' / '.join(map(str, gc_run.collections))} |"
        )
    groups = [*GROUPS, "stdlib & other"]
    lines += [
        "",
        "### Where the import time goes (sum of importtime self times, ms, with .pyc)",
        "",
        "| function | " + " | ".join(groups) + " | total |",
        "|---|" + "--:|" * (len(groups) + 1),
    ]
    for name, module in modules:
        totals = profiles[module].by_group()
        cells = " | ".join(_ms(totals.get(group, 0.0)) for group in groups)
        lines.append(f"| {name} | {cells} | {_ms(sum(totals.values()))} |")
    lines += [
        "",
        "### Top 5 self-time imports (ms, with .pyc)",
        "",
        "| function | top 5 |",
        "|---|---|",
    ]
    for name, module in modules:
        top = ", ".join(f"`{item.name}` {item.self_us / 1000:.1f}" for item in profiles[module].top())
        lines.append(f"| {name} | {top} |")
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replaces this script's section of RESULTS.md, leaving every other section as it is."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nEach section names the command that produced it.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def display_command(argv: list[str]) -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, ROOT) if python.is_relative_to(ROOT) else python.name
    script = os.path.relpath(Path(__file__).resolve(), ROOT)
    return " ".join([shown, script, *argv])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per target (default 15)")
    parser.add_argument("--quick", action="store_true", help="3 runs per target")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file whose section to rewrite")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    load_before = os.getloadavg()

    modules = functions()
    env = base_environment()
    targets = {"interpreter": INTERPRETER, "floor": FLOOR} | {module: f"import {module}" for _, module in modules}

    prefix = deployed_bytecode(targets.values(), env)
    try:
        print(f"{len(targets)} targets x 2 bytecode situations x {runs} runs", file=sys.stderr)
        deployed_env = {**env, "PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": "1"}
        samples = measure(targets, runs, {"warm": env, "deployed": deployed_env})
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    warm, deployed = samples["warm"], samples["deployed"]
    profiles = {module: profile(module, env) for _, module in modules}
    collections = {module: garbage_collection(module, env) for _, module in modules}

    section = render(display_command(argv), runs, warm, deployed, modules, profiles, load_before, collections)
    write_section(section, args.results)
    sys.stdout.write(section)


if __name__ == "__main__":
    main()

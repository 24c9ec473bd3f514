"""Cold start of the deployment package as Lambda runs it: `osls package`, the zip extracted to a
read-only directory (with the cpython-312 .pyc that plugins/bytecode.js adds), python3.12 with
PYTHONDONTWRITEBYTECODE=1, and Lambda's sys.path order: the package first (it ships boto3/botocore
at their pins), then a separate python3.12 directory standing for the runtime's own libraries
(boto3/botocore at the pins too, with their bytecode). The same measurements as bench/cold.py
(import + first request on the embedded DynamoDB, import + client, peak RSS), beside the floor and
the monolith, both also on python3.12 with bytecode and boto3 from that runtime directory; and a
few functions once more over a runtime directory holding an older boto3/botocore (the latest
release before the pinned minor version), where each must still run on the package's pinned
botocore with its preloaded models (checked: the run fails otherwise).

    .venv/bin/python -m bench.package --runs 11 --json out.json
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from bench.cold import Environment, dynamodb, measure
from bench.common import ROOT, function_environment, write_json

RUNTIME = ROOT / ".venv" / "bench-runtime312"  # boto3 for python3.12, as the Lambda runtime ships it
MONOLITH_DIR = ROOT / ".venv" / "bench-monolith312"  # the monolith's dependencies for python3.12


def python312() -> str:
    found = subprocess.run(
        ["node", "-e", "process.stdout.write(require('./plugins/bytecode.js').python312('python3.12') || '')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not found:
        raise RuntimeError("python3.12 not found (PATH or pyenv)")
    return found


def install_into(python: str, target: Path, pins: list[str]) -> None:
    """pip-installs `pins` for `python` into the folder `target` (a runtime directory, not a venv)."""
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"]
    subprocess.run([*pip, "--target", str(target), *pins], check=True)


def pins() -> dict[str, str]:
    """boto3 and botocore as requirements.txt pins them (and the package ships them)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line.startswith(("boto3==", "botocore==")))


def installed(target: Path, name: str) -> str | None:
    found = sorted(target.glob(f"{name}-*.dist-info"))
    return found[-1].name.removesuffix(".dist-info").split("-", 1)[1] if found else None


def runtime(python: str) -> Path:
    """The runtime's libraries at the pins: the floor's and the monolith's boto3."""
    # Reinstalled when a pin moves.
    if any(installed(RUNTIME, name) != version for name, version in pins().items()):
        install_into(python, RUNTIME, [f"{name}=={version}" for name, version in pins().items()])
    return RUNTIME


def other_runtime(python: str) -> tuple[Path, dict[str, str]]:
    """A runtime directory whose boto3/botocore differ from the pins: the latest boto3 before the
    pinned minor version (1.44.5 → the last 1.43.x) and the botocore it requires; and what it holds."""
    major, minor = pins()["boto3"].split(".")[:2]
    target = ROOT / ".venv" / f"bench-runtime312-boto3-before-{major}.{minor}"
    if installed(target, "boto3") is None:
        install_into(python, target, [f"boto3<{major}.{minor}"])
    versions = {name: installed(target, name) for name in ("boto3", "botocore")}
    if None in versions.values() or set(versions.items()) & set(pins().items()):
        raise RuntimeError(f"{target} must hold a boto3 and botocore other than the pins: {versions}")
    return target, {name: str(version) for name, version in versions.items()}


# The package is imported on this machine, so it is built for this machine's architecture (the
# deployed default, arm64, brings aarch64 wheels that an x86_64 python3.12 cannot load).
LAMBDA_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()]


def build(out: Path) -> Path:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    subprocess.run(
        [
            "node",
            str(ROOT / "node_modules/osls/bin/serverless.js"),
            "package",
            "--stage",
            "dev",
            "--package",
            str(out),
            f"--param=architecture={LAMBDA_ARCHITECTURE}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out / "event-registrations.zip"


def extract(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    for path in [target, *target.rglob("*")]:  # read-only, as /var/task is
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return target


def monolith(python: str) -> Path:
    """The monolith for python3.12: FastAPI, Mangum and pydantic at the project's pins (with the
    bytecode pip compiles), its module compiled too; boto3 comes from the runtime directory."""
    if not (MONOLITH_DIR / "fastapi").exists():
        pins = [
            line
            for path in ("bench/requirements.txt", "requirements.txt")
            for line in (ROOT / path).read_text().splitlines()
            if line.startswith(("fastapi", "mangum", "pydantic"))
        ]
        install_into(python, MONOLITH_DIR, pins)
    package = MONOLITH_DIR / "bench" / "baselines"
    package.mkdir(parents=True, exist_ok=True)
    for init in (MONOLITH_DIR / "bench" / "__init__.py", package / "__init__.py"):
        init.touch()
    shutil.copyfile(ROOT / "bench" / "baselines" / "monolith.py", package / "monolith.py")
    shutil.copyfile(ROOT / "bench" / "baselines" / "floor.py", package / "floor.py")
    subprocess.run([python, "-m", "compileall", "-q", str(MONOLITH_DIR / "bench")], check=True)
    return MONOLITH_DIR


def run(runs: int, names: list[str] | None = None) -> dict[str, Any]:
    python = python312()
    site = runtime(python)
    other_site, other = other_runtime(python)
    baselines = monolith(python)
    work = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        archive = build(work / "out")
        with zipfile.ZipFile(archive) as zf:
            pyc = sum(name.endswith(".pyc") for name in zf.namelist())
        tree = extract(archive, work / "task")
        version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
        with dynamodb() as (endpoint, api):

            def env(*path: Path) -> dict[str, str]:
                return function_environment(
                    PYTHONPATH=os.pathsep.join(map(str, path)), PYTHONDONTWRITEBYTECODE="1", DYNAMODB_ENDPOINT=endpoint
                )

            # As Lambda's sys.path: the package (/var/task), then the runtime's libraries (/var/runtime).
            lambda_like = Environment(
                python,
                {
                    "function": env(tree, site),
                    "other runtime": env(tree, other_site),
                    "floor": env(baselines, site),
                    "monolith": env(baselines, site),
                },
                {"function": tree, "other runtime": tree, "floor": baselines, "monolith": baselines},
                {"other runtime": f"runtime boto3 {other['boto3']}"},
            )
            result = measure(lambda_like, api, runs, names)
    finally:
        for path in work.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)
    check_botocore(result["targets"], pins()["botocore"])
    return {
        **result,
        "python": f"{version} ({python})",
        "pyc_in_zip": pyc,
        "pins": pins(),
        "other_runtime": other,
    }


def check_botocore(targets: dict[str, Any], pinned: str) -> None:
    """Every function that loaded botocore ran on the pinned one (the package's, whatever the
    runtime directory holds), and every session it made had the preloaded models."""
    for name, modes in targets.items():
        if name.startswith(("floor", "monolith")):
            continue
        for mode, summary in modes.items():
            if summary["botocore"] not in (None, pinned) or summary["preloaded"] is False:
                raise RuntimeError(
                    f"{name} ({mode}) ran on botocore {summary['botocore']}, preloaded models: "
                    f"{summary['preloaded']} (the package pins botocore {pinned})"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.runs, args.only))


if __name__ == "__main__":
    main()

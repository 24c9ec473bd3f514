"""Cold import of the deployment package as Lambda runs it: `osls package`, the zip extracted to a
read-only directory, imported by python3.12 with PYTHONDONTWRITEBYTECODE=1 — once as built (with
the cpython-312 .pyc that plugins/bytecode.js adds) and once with every .pyc removed (what the
package shipped before). boto3/botocore come from a separate python3.12 directory, as the Lambda
runtime provides them (noDeploy), with their bytecode.

    .venv/bin/python -m bench.package --runs 9 --json out.json
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import FAKE_AWS, ROOT, function_environment, functions, median, write_json

RUNTIME = ROOT / ".venv" / "bench-runtime312"  # boto3 for python3.12, as the Lambda runtime ships it
FLOOR = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"


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


def runtime(python: str) -> Path:
    if not (RUNTIME / "boto3").exists():
        version = next(
            line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("boto3")
        )
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(RUNTIME),
                version,
            ],
            check=True,
        )
    return RUNTIME


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


def extract(archive: Path, target: Path, keep_pyc: bool) -> Path:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if keep_pyc or not name.endswith(".pyc"):
                zf.extract(name, target)
    for path in [target, *target.rglob("*")]:  # read-only, as /var/task is
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return target


def wall(python: str, code: str, env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def run(runs: int, names: list[str] | None = None) -> dict[str, Any]:
    python = python312()
    site = runtime(python)
    work = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        archive = build(work / "out")
        with zipfile.ZipFile(archive) as zf:
            pyc = sum(name.endswith(".pyc") for name in zf.namelist())
        trees = {
            "with .pyc": extract(archive, work / "with", keep_pyc=True),
            "without .pyc": extract(archive, work / "without", keep_pyc=False),
        }
        modules = {name: module for name, module in functions().items() if not names or name in names}
        envs = {
            mode: function_environment(PYTHONPATH=f"{tree}{os.pathsep}{site}", PYTHONDONTWRITEBYTECODE="1", **FAKE_AWS)
            for mode, tree in trees.items()
        }
        targets = [("floor", "floor", FLOOR)] + [
            (mode, name, f"import {module}") for mode in trees for name, module in modules.items()
        ]
        samples: dict[tuple[str, str], list[float]] = {(mode, name): [] for mode, name, _ in targets}
        for round_ in range(-1, runs):
            for mode, name, code in targets:
                env = envs["with .pyc"] if mode == "floor" else envs[mode]
                cwd = trees["with .pyc"] if mode == "floor" else trees[mode]
                ms = wall(python, code, env, cwd)
                if round_ >= 0:
                    samples[(mode, name)].append(ms)
        version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
    finally:
        for path in work.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)
    floor = median(samples[("floor", "floor")])
    return {
        "python": f"{version} ({python})",
        "runs": runs,
        "pyc_in_zip": pyc,
        "floor_ms": floor,
        "functions": {name: {mode: median(samples[(mode, name)]) for mode in trees} for name in modules},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.runs, args.only))


if __name__ == "__main__":
    main()

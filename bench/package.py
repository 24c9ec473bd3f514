"""Cold start of the deployment package as Lambda runs it: `osls package`, the zip extracted to a
read-only directory (with the cpython-312 .pyc that plugins/bytecode.js adds), python3.12 with
PYTHONDONTWRITEBYTECODE=1; boto3/botocore from a separate python3.12 directory, as the Lambda
runtime provides them (noDeploy), with their bytecode. The same measurements as bench/cold.py
(import + first request on the embedded DynamoDB, import + client, peak RSS), beside the floor and
the monolith, both also on python3.12 with bytecode; and a few functions once more from a copy
without the preloaded botocore models (what a runtime with another botocore would do).

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
MODELS = "shared/repositories/botocore-models.marshal"


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


def runtime(python: str) -> Path:
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("boto")]
    # Reinstalled when a pin moves: the preloaded botocore models apply to one botocore version only.
    if not all((RUNTIME / f"{pin.replace('==', '-')}.dist-info").exists() for pin in pins):
        install_into(python, RUNTIME, pins)
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


def extract(archive: Path, target: Path, drop: str = "") -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target, members=[name for name in zf.namelist() if name != drop])
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
    baselines = monolith(python)
    work = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        archive = build(work / "out")
        with zipfile.ZipFile(archive) as zf:
            pyc = sum(name.endswith(".pyc") for name in zf.namelist())
        tree = extract(archive, work / "task")
        stock = extract(archive, work / "stock", drop=MODELS)
        version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
        with dynamodb() as (endpoint, api):

            def env(*path: Path) -> dict[str, str]:
                return function_environment(
                    PYTHONPATH=os.pathsep.join(map(str, path)), PYTHONDONTWRITEBYTECODE="1", DYNAMODB_ENDPOINT=endpoint
                )

            lambda_like = Environment(
                python,
                {
                    "function": env(tree, site),
                    "stock": env(stock, site),
                    "floor": env(baselines, site),
                    "monolith": env(baselines, site),
                },
                {"function": tree, "stock": stock, "floor": baselines, "monolith": baselines},
            )
            result = measure(lambda_like, api, runs, names)
    finally:
        for path in work.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)
    return {**result, "python": f"{version} ({python})", "pyc_in_zip": pyc}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.runs, args.only))


if __name__ == "__main__":
    main()

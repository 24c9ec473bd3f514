"""What a deployed function gets is requirements.txt alone (serverless-python-requirements), not the
dev virtualenv: a fresh virtualenv built from it must import every function with tracing on
(TRACING_ENABLED=true imports the X-Ray SDK, which only the `tracer` extra of Powertools brings)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.config import ROOT, load

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

MODULES = sorted({spec["handler"].rsplit(".", 1)[0].replace("/", ".") for spec in load()["functions"].values()})


def lambda_python() -> str:
    """Lambda's python3.12 where this machine has it (pyenv), else the interpreter running the tests."""
    for candidate in (shutil.which("python3.12"), *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))):
        if candidate and subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
            return str(candidate)
    return sys.executable


def test_every_function_imports_with_tracing_from_requirements_alone(tmp_path: Path) -> None:
    # Given a virtualenv with requirements.txt and nothing else
    venv = tmp_path / "venv"
    subprocess.run([lambda_python(), "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # No bytecode compilation of botocore & co.: the import below needs only what it loads.
    pip = ["pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "-r", "requirements.txt"]
    install = subprocess.run(
        [str(python), "-m", *pip],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "TRACING_ENABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # When every function's module is imported with tracing on (one process: a missing package
    # fails the import wherever it is first needed)
    probe = (
        "import importlib, sys\n"
        "for module in sys.argv[1:]:\n"
        "    importlib.import_module(module)\n"
        "print('aws_xray_sdk' in sys.modules)"
    )
    result = subprocess.run(
        [str(python), "-c", probe, *MODULES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    # Then they import, and the tracing SDK is really loaded
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "True"

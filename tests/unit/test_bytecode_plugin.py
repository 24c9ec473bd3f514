"""plugins/bytecode.js, run by node against a tiny package: PYTHON312 names the compiler
(serverless.yml: `custom.bytecode.python: ${env:PYTHON312, …}`), BYTECODE_REQUIRED turns a missing
python3.12 into a failed package instead of a warning."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from local import config

ROOT = Path(__file__).resolve().parents[2]
PYTHON312 = next(
    (str(path) for path in sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))),
    shutil.which("python3.12"),
)

DRIVER = r"""
const Bytecode = require(process.argv[1]);
const [zip, python, required] = process.argv.slice(2);
const logs = [];
const serverless = {
  cli: { log: (m) => logs.push(m) },
  classes: { Error },
  serviceDir: require('path').dirname(zip),
  config: {},
  service: {
    service: 'svc',
    provider: { runtime: 'python3.12' },
    custom: { bytecode: { python, required } },
    package: { artifact: zip },
    getAllFunctions: () => [],
  },
};
try {
  new Bytecode(serverless, {}).compile();
  console.log(JSON.stringify({ ok: true, logs }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.message, logs }));
}
"""


def run_plugin(tmp_path: Path, python: str, required: str) -> tuple[dict, list[str]]:
    archive = tmp_path / "svc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("functions/hello.py", "def handler(event, context):\n    return 1\n")
    result = subprocess.run(
        ["node", "-e", DRIVER, str(ROOT / "plugins" / "bytecode.js"), str(archive), python, required],
        capture_output=True,
        text=True,
        timeout=60,
        # No pyenv to fall back on: only the configured interpreter counts.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")},
        check=True,
    )
    with zipfile.ZipFile(archive) as zf:
        return json.loads(result.stdout), zf.namelist()


def test_python312_reaches_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON312", "/opt/somewhere/python3.12")
    monkeypatch.setenv("BYTECODE_REQUIRED", "true")
    config.load.cache_clear()
    try:
        assert config.load()["custom"]["bytecode"] == {"python": "/opt/somewhere/python3.12", "required": "true"}
    finally:
        config.load.cache_clear()


def test_python312_names_the_compiler(tmp_path: Path) -> None:
    assert PYTHON312, "python3.12 is a prerequisite of packaging (README)"
    outcome, names = run_plugin(tmp_path, str(PYTHON312), "true")

    assert outcome["ok"], outcome
    assert "functions/__pycache__/hello.cpython-312.pyc" in names


def test_required_bytecode_without_python312_fails(tmp_path: Path) -> None:
    outcome, names = run_plugin(tmp_path, str(tmp_path / "missing-python3.12"), "true")

    assert not outcome["ok"] and "no python3.12 found" in outcome["error"], outcome
    assert not [name for name in names if name.endswith(".pyc")]


def test_without_python312_a_package_warns_unless_required(tmp_path: Path) -> None:
    outcome, names = run_plugin(tmp_path, str(tmp_path / "missing-python3.12"), "false")

    assert outcome["ok"], outcome
    assert any("WARNING no python3.12 found" in line for line in outcome["logs"]), outcome
    assert not [name for name in names if name.endswith(".pyc")]

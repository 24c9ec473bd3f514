"""The Makefile's own promises: `make help` lists every target, the hash lock pins exactly what
requirements*.txt say, tools that are missing or too old are named with the version needed, and
slow steps say what they do and how long they took."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# {requirements file: its hash lock}; `make lock` writes each.
LOCKS = {"requirements-dev.txt": "requirements-dev.lock", "requirements-scan.txt": "requirements-scan.lock"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """{name: version} of a requirements file, following `-r` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found |= pins(path.parent / line.removeprefix("-r ").strip())
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"{path.name}: '{line}' is not an exact pin (name==version)"
        found[canonical(match.group(1))] = match.group(3)
    return found


def locked(lock: Path) -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} of a lock."""
    entries: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            entries[canonical(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return entries


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", makefile, re.MULTILINE))
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout

    assert {"run", "test", "help", "seed", "lock"} <= targets
    for target in targets:
        assert re.search(rf"^  make {re.escape(target)} +\S", listed, re.MULTILINE), (
            f"`make help` does not list {target}"
        )


@pytest.mark.parametrize(("requirements", "lock_name"), LOCKS.items())
def test_lock_pins_what_requirements_say_with_hashes(requirements: str, lock_name: str) -> None:
    wanted = pins(ROOT / requirements)
    lock = locked(ROOT / lock_name)

    for name, version in wanted.items():
        assert name in lock, f"{name} is in {requirements} but not in {lock_name}: run `make lock`"
        assert lock[name][0] == version, f"{name}: {version} wanted, {lock[name][0]} locked: run `make lock`"
    unhashed = [name for name, (_, hashes) in lock.items() if hashes == 0]
    assert not unhashed, f"entries without a hash: {unhashed}"


def test_the_dev_lock_covers_the_lambda_requirements_and_every_transitive_dependency() -> None:
    wanted = pins(ROOT / "requirements-dev.txt")
    assert pins(ROOT / "requirements.txt").items() <= wanted.items(), (
        "requirements-dev.txt must include requirements.txt"
    )
    assert len(locked(ROOT / "requirements-dev.lock")) > len(wanted)


@pytest.mark.parametrize(("requirements", "lock_name"), LOCKS.items())
def test_lock_says_how_it_was_made(requirements: str, lock_name: str) -> None:
    header = (ROOT / lock_name).read_text().split("\n\n", 1)[0]
    assert "pip-compile" in header and "--generate-hashes" in header and requirements in header


def fake_node(tmp_path: Path, version: str) -> dict[str, str]:
    node = tmp_path / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin"}


@pytest.mark.parametrize(
    ("version", "accepted"),
    [
        ("v18.20.4", False),
        ("v20.11.1", False),
        ("v20.19.0", True),
        ("v21.7.3", False),
        ("v22.12.0", False),
        ("v22.13.0", True),
        ("v23.11.0", False),
        ("v24.0.0", True),
        ("v25.2.1", True),
    ],
)
def test_node_version_is_checked(tmp_path: Path, version: str, accepted: bool) -> None:
    result = subprocess.run(
        ["local/require.sh", "node"], cwd=ROOT, env=fake_node(tmp_path, version), capture_output=True, text=True
    )

    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        assert f"Node {version} found; osls 4.3 needs Node ^20.19 || ^22.13 || >=24" in result.stderr


def test_missing_tools_are_named_with_the_version_needed(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path)}
    checks = {
        ("node",): "node not found: osls needs Node ^20.19 || ^22.13 || >=24",
        ("python", "no-such-python"): "no-such-python not found: the virtualenv needs Python 3.11 or newer",
    }
    for arguments, message in checks.items():
        env_path = {**env, "PATH": str(tmp_path)} if arguments == ("node",) else env
        result = subprocess.run(
            ["/bin/bash", "local/require.sh", *arguments], cwd=ROOT, env=env_path, capture_output=True, text=True
        )
        assert result.returncode == 1 and message in result.stderr, (arguments, result.stderr)


def test_timed_steps_say_what_and_how_long() -> None:
    done = subprocess.run(["local/timed.sh", "a short step", "true"], cwd=ROOT, capture_output=True, text=True)
    failed = subprocess.run(
        ["local/timed.sh", "a failing step", "sh", "-c", "exit 3"], cwd=ROOT, capture_output=True, text=True
    )

    assert done.returncode == 0
    assert re.fullmatch(r"==> a short step\n==> a short step: done in \d+\.\d s\n", done.stdout), done.stdout
    assert failed.returncode == 3
    assert re.search(r"==> a failing step: failed \(exit 3\) after \d+\.\d s", failed.stderr), failed.stderr

"""Only repositories talk to AWS (CONVENTIONS.md: function → manager → repository).

What is true, and so what is checked: a function that calls DynamoDB does load botocore — its
repositories import it, and so does Powertools (its user-agent hook) — so "importing a function
leaves botocore unimported" would be false for all but the functions that never call AWS (those
are guarded by test_imports.py). The rule is about who imports it. Two checks, each catching what
the other cannot:

- statically, over the source (ast, so lazy imports inside function bodies count too): no module
  of `functions`, `shared.api` or `shared.managers` imports boto3 or botocore, or names one of
  their modules in a string (importlib, sys.modules); handlers and the API layer import no
  repository at all, managers none of the repositories' AWS plumbing (client, retries, failures);
- at run time, in a fresh interpreter that records the importer of every boto3/botocore import
  while importing every one of those modules: none of them is an importer (and, so that the check
  cannot pass vacuously, the repositories are)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("functions", "shared/api", "shared/managers")
AWS_SDK = re.compile(r"(boto3|botocore|s3transfer)(\..+)?")
# What a manager may not reach for: the repositories' AWS plumbing (they hand managers domain
# objects and the project's own errors).
PLUMBING = ("shared.repositories.dynamo", "shared.repositories.failures", "shared.repositories.clients")


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> list[str]:
    """Every module name an import statement of `path` may load (`from a import b` counts a and a.b)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _dotted(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def _sdk_strings(path: Path) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and AWS_SDK.fullmatch(node.value)
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_above_the_repositories_never_import_the_aws_sdk(layer: str) -> None:
    # Given every module of the layer, read as source
    offenders = {}
    for path in _modules(layer):
        # When its imports and module-name strings are collected
        found = [name for name in _imports(path) if AWS_SDK.fullmatch(name)] + _sdk_strings(path)
        if found:
            offenders[_dotted(path)] = sorted(set(found))
    # Then none of them reaches for boto3 or botocore
    assert offenders == {}


@pytest.mark.parametrize("layer", ["functions", "shared/api"])
def test_handlers_and_the_api_reach_repositories_only_through_managers(layer: str) -> None:
    offenders = {
        _dotted(path): sorted({name for name in _imports(path) if name.startswith("shared.repositories")})
        for path in _modules(layer)
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_managers_hold_domain_objects_not_aws_plumbing() -> None:
    offenders = {
        _dotted(path): sorted({name for name in _imports(path) if name.startswith(PLUMBING)})
        for path in _modules("shared/managers")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


PROBE = """
import builtins, importlib, json, re, sys

sdk = re.compile(r"(boto3|botocore|s3transfer)(\\..+)?")
importers = set()
real_import = builtins.__import__

def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and sdk.fullmatch(name):
        importers.add((globals or {}).get("__name__", "?"))
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = recording_import
for module in json.loads(sys.argv[1]):
    importlib.import_module(module)
builtins.__import__ = real_import
print(json.dumps({"importers": sorted(importers), "botocore": "botocore" in sys.modules}))
"""


def test_importing_every_module_of_those_layers_imports_the_sdk_only_from_below() -> None:
    # Given a fresh interpreter that records who imports boto3 or botocore
    modules = [_dotted(path) for layer in LAYERS for path in _modules(layer)]
    assert "functions.registrations.register" in modules and "shared.managers.waitlist" in modules
    # When it imports every function module, the API layer and every manager
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.splitlines()[-1])
    ours = [name for name in state["importers"] if name.split(".")[0] in ("functions", "shared")]
    # Then botocore was loaded (so the check saw the imports), by the repositories and never above them
    assert state["botocore"] is True
    assert any(name.startswith("shared.repositories.") for name in ours), state["importers"]
    assert [name for name in ours if name.startswith(("functions", "shared.api", "shared.managers"))] == []

"""reset_process_caches gives each test what a fresh Lambda process has: no cached settings,
client, session or manager left from the test before, wherever in shared/ the cache is declared."""

from __future__ import annotations

import ast
import inspect
from typing import Any

from local.config import ROOT
from tests.helpers import process_caches, reset_process_caches

CACHE_DECORATORS = {"cache", "lru_cache"}


def name(cached: Any) -> str:
    return f"{cached.__module__}.{cached.__qualname__}"


def declared_caches() -> set[str]:
    """`module.function` for every function of shared/ whose decorators include functools' caches,
    read from the source rather than from the imported modules."""
    found = set()
    for path in sorted((ROOT / "shared").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in CACHE_DECORATORS:
                    found.add(f"{module}.{node.name}")
    return found


def test_every_cache_declared_in_shared_is_found() -> None:
    found = {name(cached) for cached in process_caches()}
    assert declared_caches(), "no cached function in shared/: the source scan is broken"
    assert found == declared_caches()


def test_reset_empties_every_cache(dynamodb: Any) -> None:
    # Given every zero-argument cache filled, as a warm Lambda process has them
    caches = process_caches()
    for cached in caches:
        if not any(p.default is p.empty for p in inspect.signature(cached).parameters.values()):
            cached()
    assert any(cached.cache_info().currsize for cached in caches)

    reset_process_caches()

    left = {name(cached): cached.cache_info().currsize for cached in caches}
    assert left == dict.fromkeys(left, 0)

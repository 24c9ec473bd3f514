"""`make bench-smoke`: every benchmark (cold start, package, warm latency and round trips, the local
stack under load, the hot-event simulation) runs end to end with tiny counts. Nothing about timing
is asserted — only that each phase works and reports. Marked integration: it starts the local stack."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_bench_smoke_runs_every_benchmark() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "bench-smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=590,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    for phase in ("cold", "warm", "load", "hot_event", "package"):
        assert f"-m bench.{phase}" in result.stderr

"""`make bench-smoke`: every benchmark (cold start, package, warm latency and round trips, the local
stack under load, the hot-event simulation, positions on long queues) runs end to end with tiny counts. Nothing about timing
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
    for phase in ("cold", "warm", "load", "hot_event", "package", "positions"):
        assert f"-m bench.{phase}" in result.stderr


def test_a_failed_phase_keeps_the_others_and_fails_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    import bench.__main__ as bench_main

    # Given a run whose load phase fails while the hot-event phase finishes
    hot = {
        "tau_s": 0.01,
        "scenarios": [
            {
                "scenario": "today",
                "requests": 2,
                "capacity": 1,
                "injected_busy_rate": 0.5,
                "answered_201": 1,
                "answered_409_full": 1,
                "gave_up": 0,
                "transaction_attempts": 3,
                "conflicted": 1,
                "retried": 1,
                "registered_count": 1,
                "overbooked": False,
            }
        ],
    }

    def phase(name: str, args: list[str], out: Path) -> tuple[dict, str]:
        if name == "hot_event":
            return hot, "python -m bench.hot_event"
        raise bench_main.PhaseFailed(f"`python -m bench.{name}` exited with status 1:\n504 Gateway Timeout")

    monkeypatch.setattr(bench_main, "phase", phase)
    monkeypatch.setattr(bench_main, "profiles", lambda: {"functions.health.get": {"ours": 1.0}})
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(sys, "argv", ["bench", "--results", str(results)])

    # When it runs, then it exits non-zero, and RESULTS.md still holds what finished and why the rest failed
    with pytest.raises(SystemExit) as exited:
        bench_main.main()
    assert exited.value.code == 1
    text = results.read_text()
    assert "**Failed phases: cold, package, warm, load, positions**" in text
    assert text.count("**This phase failed; its numbers are missing from this run.**") == 5
    assert "504 Gateway Timeout" in text
    assert "| today | 2 | 1 | 0.500 | 1 | 1 | 0 | 3 | 1 | 1 | 1 | no |" in text
    assert "| `functions.health.get` | 1.0 |" in text


def test_every_function_has_its_cold_start_request() -> None:
    # `make bench` measures every function of serverless.yml; bench-smoke only two of them
    from bench.common import event_for, functions

    for name in functions():
        event = event_for(name, 0)
        assert event.get("Records") or event.get("httpMethod") or event.get("source"), name

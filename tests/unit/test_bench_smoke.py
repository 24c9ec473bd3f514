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


def test_the_warm_table_tells_a_missed_goal_from_one_out_of_reach() -> None:
    from bench.__main__ import warm_section

    def side(p50: float, client: float) -> dict:
        return {
            "p50_ms": p50,
            "p99_ms": p50 * 2,
            "own_p50_ms": p50 - client,
            "client_p50_ms": client,
            "dynamodb_p50_ms": client - 0.5,
            "round_trips": 1,
            "operations": ["GetItem"],
        }

    # Given three routes against a monolith answering in 10 ms: one in 4 ms, one in 6 ms whose boto3
    # client calls alone take 3 ms, one whose client calls alone take 7 ms
    warm = {
        "calls": 1,
        "operations": {
            name: {"ours": side(p50, dynamodb), "mono": side(10.0, 5.0), "minimum": "1"}
            for name, p50, dynamodb in (("fast", 4.0, 3.0), ("slow", 6.0, 3.0), ("bound", 8.0, 7.0))
        },
    }

    # When the section is rendered
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in warm_section(warm) if line.startswith("| ")}

    # Then each says its least possible ratio and whether the goal is met, missed or out of reach
    # (the ratios are rendered with a multiplication sign)
    times = "\N{MULTIPLICATION SIGN}"
    assert f"| 3.0 / 5.0 | 2.5 / 4.5 | 1.0 / 5.0 | 0.20{times} | 0.30{times} | met |" in rows["fast"]
    assert f"| 3.0 / 5.0 | 2.5 / 4.5 | 3.0 / 5.0 | 0.60{times} | 0.30{times} | not met |" in rows["slow"]
    assert f"| 7.0 / 5.0 | 6.5 / 4.5 | 1.0 / 5.0 | 0.20{times} | 0.70{times} | out of reach |" in rows["bound"]

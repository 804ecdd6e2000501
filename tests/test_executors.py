"""Executors: ``meanwhile`` runs in the parent while a local pool computes (and only then);
a backend's warm-up loads, before the fork, what the workers would each load again."""

from __future__ import annotations

import subprocess
import sys
import threading

from study.executors import execute_all


def _square(x: int) -> int:
    return x * x


def test_meanwhile_runs_once_beside_a_pool_and_results_are_complete() -> None:
    seen: list[str] = []
    got: dict[int, int] = {}
    execute_all(_square, list(range(12)), 2, None, lambda i, r: got.__setitem__(i, r),
                meanwhile=lambda: seen.append(threading.current_thread().name))
    assert got == {i: i * i for i in range(12)}
    assert seen == ["imcopt-meanwhile"]          # in a side thread of this process


def test_failing_meanwhile_changes_nothing(capfd) -> None:
    def boom() -> None:
        raise RuntimeError("no")

    got: dict[int, int] = {}
    execute_all(_square, list(range(6)), 2, None, lambda i, r: got.__setitem__(i, r),
                meanwhile=boom)
    assert got == {i: i * i for i in range(6)}
    assert "RuntimeError" not in capfd.readouterr().err


def test_serial_runs_no_meanwhile() -> None:
    seen: list[int] = []
    got: dict[int, int] = {}
    execute_all(_square, [1, 2], 1, None, lambda i, r: got.__setitem__(i, r),
                meanwhile=lambda: seen.append(1))
    assert got == {1: 1, 2: 4} and seen == []


def test_backend_warm_up_loads_kernels_and_algorithm_modules() -> None:
    code = """
import sys
from study.backend import Backend
from study.config import ScenarioConfig
b = Backend()
p = b.build_problem(ScenarioConfig(name="s", space="rram-paper", workloads="paper-4"),
                    "physical")
from problems.hardware import factored
before = ("pymoo.algorithms.moo.nsga2" in sys.modules, bool(factored._latency_sums.signatures))
b.warm_up(p, ["nsga2", "paper-ga"])
after = ("pymoo.algorithms.moo.nsga2" in sys.modules, bool(factored._latency_sums.signatures))
print(before, after)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["(False,", "False)", "(True,", "True)"]

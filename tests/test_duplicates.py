"""`ExactDuplicateElimination` flags exactly what pymoo's distance test flags on integer
designs, and runs with it replay the runs with pymoo's own (so published seeds reproduce)."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.population import Population

from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import WorkloadStack, load_workloads
from study.algorithms import run_algorithm
from study.duplicates import ExactDuplicateElimination


@pytest.mark.parametrize("seed", range(6))
def test_flags_equal_pymoo(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(60, 4)).astype(float)       # many duplicate rows
    other = rng.integers(0, 3, size=(25, 4)).astype(float)
    pop, oth = Population.new(X=X), Population.new(X=other)
    for args in ((pop, None), (pop, oth)):
        ref = DefaultDuplicateElimination()._do(*args, np.zeros(len(X), bool))
        got = ExactDuplicateElimination()._do(*args, np.zeros(len(X), bool))
        np.testing.assert_array_equal(got, ref)
        assert ref.any() and not ref.all()
    # non-integer rows: pymoo's own test
    Xf = X + 0.25 * (rng.random(X.shape) < 0.5)
    ref = DefaultDuplicateElimination()._do(Population.new(X=Xf), None, np.zeros(60, bool))
    got = ExactDuplicateElimination()._do(Population.new(X=Xf), None, np.zeros(60, bool))
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", ["paper-ga", "nsga2", "ga"])
def test_runs_replay_pymoo_duplicate_elimination(name: str, monkeypatch) -> None:
    space = SearchSpace.load("rram-paper")
    stack = WorkloadStack.of(load_workloads("paper-4"))
    kind = "multi" if name == "nsga2" else "single"
    problem = JointIMCProblem(space, stack, ObjectiveConfig(kind=kind, aggregate="max"))
    fast = run_algorithm(name, problem, budget=700, seed=3)
    monkeypatch.setattr(ExactDuplicateElimination, "_do", DefaultDuplicateElimination._do)
    slow = run_algorithm(name, problem, budget=700, seed=3)
    np.testing.assert_array_equal(np.asarray(fast.X), np.asarray(slow.X))
    np.testing.assert_array_equal(np.asarray(fast.score), np.asarray(slow.score))

"""imcopt-memetic: registered, exact budget, reproducible, never evaluates a design twice,
neighbourhoods as documented, and it finds the exact optimum of a small space."""

from __future__ import annotations

import numpy as np
import pytest

from problems.exhaustive import exhaustive_search
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.workloads import load_workloads
from study.algorithms import ALGORITHMS, run_algorithm
from study.backend import scenario_space
from study.config import ScenarioConfig
from study.memetic import _Search


@pytest.fixture(scope="module")
def small_problem() -> JointIMCProblem:
    space = scenario_space(ScenarioConfig(
        name="small", space="rram-paper", workloads=["alexnet", "resnet18"],
        fixed={"voltage_v": 0.7, "cycle_time_s": 6e-9, "bits_per_cell": 5,
               "glb_bytes": 4194304, "router_groups": 4}))
    return JointIMCProblem(space, load_workloads(["alexnet", "resnet18"]),
                           ObjectiveConfig(aggregate="max"))


def test_registered_with_checked_params():
    assert "imcopt-memetic" in ALGORITHMS
    with pytest.raises(Exception, match="unknown parameter"):
        ALGORITHMS["imcopt-memetic"].resolve({"nope": 1})
    with pytest.raises(Exception, match="positive integer"):
        ALGORITHMS["imcopt-memetic"].resolve({"n_init": 0})


def test_budget_reproducible_no_repeats(small_problem):
    a = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=7)
    b = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=7)
    c = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=8)
    assert len(a) == 150
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert len(np.unique(a.X, axis=0)) == len(a)  # no design evaluated twice


def test_neighbourhoods(small_problem):
    s = _Search(small_problem, recorder=None, fits=None)  # type: ignore[arg-type]
    x = np.zeros(small_problem.n_var, np.int64)  # a corner: only +1 moves exist
    assert len(s.neighbours(x, 1)) == small_problem.n_var
    card = s.xu - s.xl + 1
    full = s.neighbours(x, None)  # every other value farther than one step
    assert len(full) == int(np.sum(np.maximum(card - 2, 0)))
    x[0] = 1
    ex = s.neighbours(x, "exchange")  # only coordinate 0 can go down
    assert len(ex) == small_problem.n_var - 1
    assert np.all(ex[:, 0] == 0) and np.all(ex.sum(axis=1) == x.sum())


def test_finds_exact_optimum_of_small_space(small_problem):
    res = exhaustive_search(small_problem.space, small_problem.stack, small_problem.objective,
                            "physical", progress=False)
    best = 10 ** res.best_log10_score
    found = [run_algorithm("imcopt-memetic", small_problem, budget=200, seed=s).score.min()
             for s in range(3)]
    assert np.allclose(found, best, rtol=1e-9)


def test_ends_on_an_exhausted_space(small_problem):
    # a budget beyond the space's size: every design at most once, then the run ends
    a = run_algorithm("imcopt-memetic", small_problem, budget=5000, seed=1)
    assert len(np.unique(a.X, axis=0)) == len(a) <= small_problem.space.size

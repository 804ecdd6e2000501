"""`ArrayMating` replays pymoo's own mating loop draw for draw: every GA-family and MOEA run
gives the same archive with it as with `pymoo.core.mating.Mating` (so published seeds
reproduce), including runs where duplicates exhaust the loop's iteration cap."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_search import sub_space
from pymoo.core.mating import Mating

from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import WorkloadStack, load_workloads
from study.algorithms import run_algorithm
from study.mating import ArrayMating
from study.paper_ga import PaperGA
from study.pymoo_algorithms import make_moea

MULTI = {"nsga2", "nsga3", "smsemoa"}


def _problem(space: SearchSpace, name: str) -> JointIMCProblem:
    kind = "multi" if name in MULTI else "single"
    return JointIMCProblem(space, WorkloadStack.of(load_workloads("paper-4")),
                           ObjectiveConfig(kind=kind, aggregate="max", area_budget_mm2=800))


def _both(name: str, problem: JointIMCProblem, budget: int, seed: int, monkeypatch):
    fast = run_algorithm(name, problem, budget=budget, seed=seed)
    with monkeypatch.context() as m:  # pymoo's own loop
        m.setattr(ArrayMating, "do", Mating.do)
        slow = run_algorithm(name, problem, budget=budget, seed=seed)
    return fast, slow


def _assert_same(fast, slow) -> None:
    np.testing.assert_array_equal(np.asarray(fast.X), np.asarray(slow.X))
    np.testing.assert_array_equal(np.asarray(fast.score), np.asarray(slow.score))
    assert fast.meta.get("restarts") == slow.meta.get("restarts")


@pytest.mark.parametrize("name", ["paper-ga", "ga", "ga-phases", "nsga2", "nsga3", "smsemoa",
                                  "sequential"])
def test_runs_replay_pymoo_mating(name: str, monkeypatch) -> None:
    problem = _problem(SearchSpace.load("rram-paper"), name)
    fast, slow = _both(name, problem, 1400, 5, monkeypatch)
    _assert_same(fast, slow)


@pytest.mark.parametrize(("name", "seed"), [("ga", 0), ("nsga2", 1)])
def test_replay_when_duplicates_exhaust_the_loop(name: str, seed: int, monkeypatch) -> None:
    """A space of <= 60 designs and a population of 70: offspring run out, the loop hits its
    iteration cap, the run restarts (same restarts, same archive)."""
    space = sub_space(SearchSpace.load("rram-paper"), np.random.default_rng(seed), max_size=60)
    fast, slow = _both(name, _problem(space, name), 150, seed, monkeypatch)
    _assert_same(fast, slow)
    assert fast.meta["restarts"] >= 1     # the cap was reached: the run restarted


def test_algorithms_use_array_mating_and_fall_back_for_other_rules() -> None:
    assert type(PaperGA().mating) is ArrayMating
    assert type(make_moea("nsga2").mating) is ArrayMating
    # an archive-wide duplicate rule has no array form here: pymoo's loop runs it
    tuned = PaperGA(dedup="archive")
    assert not tuned.mating._applies([object()], np.random.default_rng(0), {})
    assert PaperGA().mating._applies([object()], np.random.default_rng(0), {})

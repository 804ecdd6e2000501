"""`JointIMCProblem`: vectorized == row-by-row, constraints <=> feasibility, pymoo integration."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_search import tiny_space, tiny_workloads
from hypothesis import given, settings
from hypothesis import strategies as st

from problems.errors import ImcoptError
from problems.hardware.cost import evaluate as real_evaluate
from problems.hardware.result import CostResult
from problems.objectives import ObjectiveConfig
from problems.problem import F_PENALTY, JointIMCProblem

SPACE = tiny_space()
WORKLOADS = tiny_workloads()
PROBLEM = JointIMCProblem(SPACE, WORKLOADS)
ALL_X = SPACE.index_range(0, SPACE.size)
ALL = PROBLEM.evaluate_batch(ALL_X)


def test_shapes_and_attributes() -> None:
    p = PROBLEM
    assert p.n_var == SPACE.n_var and p.n_obj == 1 and p.n_ieq_constr == 2 + 3
    np.testing.assert_array_equal(p.xu, SPACE.cardinalities - 1)
    assert p.workload_names == ["a", "b", "c"] and p.convention == "physical"
    assert p.stack.n_workloads == 3 and p.space is SPACE
    assert ALL["F"].shape == (256, 1) and ALL["G"].shape == (256, 5)
    assert ALL["edap"].shape == (256, 3) and ALL["area_mm2"].shape == (256,)
    # the tiny space has both feasible and infeasible designs
    assert 0 < ALL["feasible"].sum() < 256


def test_feasible_iff_all_constraints_nonpositive() -> None:
    feas, G, score = ALL["feasible"], ALL["G"], ALL["score"]
    np.testing.assert_array_equal(feas, np.all(G <= 0, axis=1))
    assert np.all(np.isfinite(score[feas])) and np.all(score[~feas] == np.inf)
    np.testing.assert_allclose(np.log10(score[feas]), ALL["F"][feas, 0])
    # score is the aggregated (max) EDAP of the model outputs
    E, L, A = ALL["energy_j"][feas], ALL["latency_s"][feas], ALL["area_mm2"][feas]
    np.testing.assert_allclose(score[feas], E.max(1) * L.max(1) * A, rtol=1e-10)
    assert np.all(np.isfinite(ALL["F"]))


def test_capacity_constraint_matches_residency() -> None:
    res = real_evaluate(SPACE.decode(ALL_X), WORKLOADS)
    usable = res.valid & res.weights_resident
    np.testing.assert_array_equal(ALL["G"][:, 2:] <= 0, usable)
    # SRAM streams weights: residency is not a constraint there
    ps = JointIMCProblem(tiny_space("SRAM"), WORKLOADS).evaluate_batch(ALL_X)
    assert ps["feasible"].sum() > ALL["feasible"].sum()


def test_area_budget_constraint() -> None:
    budget = float(np.median(ALL["area_mm2"]))
    p = JointIMCProblem(SPACE, WORKLOADS, ObjectiveConfig(area_budget_mm2=budget))
    r = p.evaluate_batch(ALL_X)
    np.testing.assert_allclose(r["G"][:, 0], (r["area_mm2"] - budget) / budget)
    assert not np.any(r["feasible"] & (r["area_mm2"] > budget))
    assert np.any(ALL["feasible"] & (ALL["area_mm2"] > budget))


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 255), min_size=1, max_size=12))
def test_vectorized_equals_row_by_row(rows: list[int]) -> None:
    X = ALL_X[rows]
    batch = PROBLEM.evaluate_batch(X)
    for i, x in enumerate(X):
        one = PROBLEM.evaluate_batch(x[None, :])
        for k in ("F", "G", "score", "edap", "area_mm2", "feasible"):
            np.testing.assert_array_equal(one[k][0], batch[k][i], err_msg=k)
    np.testing.assert_array_equal(PROBLEM.score(X), batch["score"])
    # and chunking inside evaluate_batch does not change anything
    np.testing.assert_array_equal(PROBLEM.evaluate_batch(X, chunk=1)["G"], batch["G"])


def test_out_of_range_and_float_inputs_are_flagged() -> None:
    x = ALL_X[np.flatnonzero(ALL["feasible"])[0]].astype(float)
    X = np.vstack([x + 0.3, x, x, x])
    X[1, 0] = 2.0          # xu is 1
    X[2, 3] = -1.0
    X[3, 5] = np.nan
    r = PROBLEM.evaluate_batch(X)
    assert r["feasible"].tolist() == [True, False, False, False]
    assert r["G"][:, 1].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert np.all(r["score"][1:] == np.inf)
    with pytest.raises(ImcoptError, match="shape"):
        PROBLEM.evaluate_batch(np.zeros((2, 3)))


def test_model_invalid_is_infeasible(monkeypatch: pytest.MonkeyPatch) -> None:
    """A design the model cannot evaluate (valid False, or junk numbers) is never optimal."""

    def fake(self, designs, stack):
        r = real_evaluate(designs, stack, "physical")
        valid = r.valid.copy()
        valid[:, 0] = False
        E = r.energy_j.copy()
        E[:, 1] = 0.0  # a zero energy must not look optimal
        return CostResult(r.convention, r.workloads, E, r.latency_s, r.area_mm2,
                          r.utilisation, r.weights_resident, valid)

    from problems.hardware.physical import PhysicalModel

    monkeypatch.setattr(PhysicalModel, "evaluate_factored", fake)
    r = JointIMCProblem(SPACE, WORKLOADS).evaluate_batch(ALL_X)
    assert not r["feasible"].any()
    assert np.all(r["score"] == np.inf) and np.all(r["G"][:, 2:4] > 0)
    assert np.all(r["F"] == F_PENALTY)


@pytest.mark.parametrize("kind,n_obj", [("single", 1), ("multi", 3), ("many", 3)])
def test_kinds(kind: str, n_obj: int) -> None:
    p = JointIMCProblem(SPACE, WORKLOADS, ObjectiveConfig(kind=kind, aggregate="mean"))
    r = p.evaluate(ALL_X[:40], return_as_dictionary=True)
    assert p.n_obj == n_obj and r["F"].shape == (40, n_obj)
    feas = r["is_feasible"].astype(bool)
    single = JointIMCProblem(SPACE, WORKLOADS, ObjectiveConfig(aggregate="mean"))
    np.testing.assert_array_equal(r["score"], single.score(ALL_X[:40]))
    if kind == "many":
        np.testing.assert_allclose(10 ** r["F"][feas], r["edap"][feas], rtol=1e-9)


def test_pymoo_ga_runs_and_finds_feasible() -> None:
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    algo = GA(pop_size=20, sampling=IntegerRandomSampling(),
              crossover=SBX(vtype=float, repair=RoundingRepair()),
              mutation=PM(vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
    res = minimize(PROBLEM, algo, ("n_gen", 8), seed=3)
    assert res.X is not None
    assert PROBLEM.score(res.X[None, :])[0] >= ALL["score"].min()
    assert np.isfinite(res.opt.get("score")[0])


def test_bad_inputs() -> None:
    with pytest.raises(ImcoptError, match="convention"):
        JointIMCProblem(SPACE, WORKLOADS, convention="exact")
    with pytest.raises(ImcoptError, match="specialist_edap"):
        JointIMCProblem(SPACE, WORKLOADS, ObjectiveConfig(aggregate="normalized"))
    with pytest.raises(ImcoptError, match="3 positive"):
        JointIMCProblem(SPACE, WORKLOADS, specialist_edap=np.ones(2))
    with pytest.raises(ImcoptError, match="weights"):
        JointIMCProblem(SPACE, WORKLOADS, ObjectiveConfig(aggregate="weighted", weights=(1, 1)))
    with pytest.raises(ImcoptError, match="SearchSpace"):
        JointIMCProblem("tiny", WORKLOADS)  # type: ignore[arg-type]


def test_designs_the_model_rejects_are_infeasible(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost model raising for a batch: only the designs it rejects become infeasible."""

    from problems.hardware.physical import PhysicalModel

    def picky(self, designs, stack):
        if np.any(designs.xbar_rows == 32):
            raise ImcoptError("rows 32 not supported")
        return real_evaluate(designs, stack, "physical")

    monkeypatch.setattr(PhysicalModel, "evaluate_factored", picky)
    p = JointIMCProblem(SPACE, WORKLOADS)
    with pytest.warns(UserWarning, match="rows 32"):
        r = p.evaluate_batch(ALL_X)
    rows32 = SPACE.decode(ALL_X).xbar_rows == 32
    assert p.n_model_errors == rows32.sum() == 128
    assert not r["feasible"][rows32].any() and np.all(r["score"][rows32] == np.inf)
    np.testing.assert_array_equal(r["score"][~rows32], ALL["score"][~rows32])


def test_fits_is_the_capacity_part_of_feasibility():
    """fits(X) is True exactly where no capacity constraint (columns 2..) is violated."""
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    space = SearchSpace.load("rram-paper")
    prob = JointIMCProblem(space, load_workloads("alexnet,resnet18"),
                           ObjectiveConfig(area_budget_mm2=1e9))
    X = space.random(400, np.random.default_rng(3))
    fits = prob.fits(X)
    G = prob.evaluate_batch(X)["G"]
    np.testing.assert_array_equal(fits, np.all(G[:, 1:] <= 0, axis=1))
    assert 0 < fits.sum() < len(X)

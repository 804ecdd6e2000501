"""The branch and bound (`problems.branch_bound`) == the enumeration of every design: the same
top-k, front, specialists and feasible count on random sub-spaces of every built-in space, in
both conventions, for every aggregate, area budgets, fabrication cost and enumeration slices;
and it does prune."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_search import sub_space
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problems.errors import ImcoptError
from problems.exhaustive import exhaustive_search
from problems.objectives import ObjectiveConfig
from problems.spaces import SearchSpace, Variable, list_spaces
from problems.workloads import WorkloadStack, load_workloads

STACK = WorkloadStack.of(load_workloads("paper-4"))
#: nine workloads, with attention layers (cimloop counts them as weight layers)
STACK9 = WorkloadStack.of(load_workloads("paper-9"))
MAX_SIZE = 3000


def assert_same(a, b) -> None:
    assert a.n_designs == b.n_designs and a.n_feasible == b.n_feasible
    for k in ("top_x", "top_log10", "front_x", "front_log10", "workload_best_x",
              "workload_best_log10"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)


AGGREGATES = ["max", "mean", "product", "geomean", "weighted", "normalized"]


@pytest.mark.parametrize("space_name", list_spaces())
@pytest.mark.parametrize("convention", ["physical", "cimloop"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), agg=st.sampled_from(AGGREGATES),
       budget=st.sampled_from([None, 30.0, 150.0, 800.0]),
       fab=st.sampled_from([False, "alone", "product"]), top_k=st.integers(1, 6),
       cut=st.floats(0.0, 1.0))
def test_bound_equals_enumeration(space_name: str, convention: str, seed: int, agg: str,
                                  budget: float | None, fab: bool | str, top_k: int,
                                  cut: float) -> None:
    space = sub_space(SearchSpace.load(space_name), np.random.default_rng(seed), MAX_SIZE, 4)
    extra = {"weights": [1, 2, 3, 4]} if agg == "weighted" else {}
    if budget is not None:
        extra["area_budget_mm2"] = budget
    cfg = ObjectiveConfig(aggregate=agg, fabrication_cost=fab, **extra)
    # a slice [start, stop) of the enumeration, or the whole space
    start = int(cut * space.size * 0.5) if cut > 0.5 else 0
    rng = (start, space.size)
    try:
        ref = exhaustive_search(space, STACK, cfg, convention, top_k=top_k, chunk=211,
                                progress=False, flat_range=rng, method="enumerate")
    except ImcoptError as exc:             # normalized: a workload with no feasible design
        assert agg == "normalized" and "no feasible design" in str(exc)
        return
    got = exhaustive_search(space, STACK, cfg, convention, top_k=top_k, progress=False,
                            flat_range=rng, method="bound")
    assert_same(got, ref)
    assert 0 <= got.n_evaluated <= got.n_designs


@pytest.mark.parametrize("space_name", list_spaces())
@pytest.mark.parametrize("convention", ["physical", "cimloop"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), agg=st.sampled_from(["max", "mean", "geomean"]),
       budget=st.sampled_from([None, 150.0]))
def test_bound_equals_enumeration_on_nine_workloads(space_name: str, convention: str, seed: int,
                                                    agg: str, budget: float | None) -> None:
    """paper-9 (the SRAM study's workloads, attention included): the bounds stay valid."""
    space = sub_space(SearchSpace.load(space_name), np.random.default_rng(seed), MAX_SIZE, 4)
    extra = {} if budget is None else {"area_budget_mm2": budget}
    cfg = ObjectiveConfig(aggregate=agg, **extra)
    ref = exhaustive_search(space, STACK9, cfg, convention, top_k=3, chunk=211,
                            progress=False, method="enumerate")
    got = exhaustive_search(space, STACK9, cfg, convention, top_k=3, progress=False,
                            method="bound")
    assert_same(got, ref)


@pytest.mark.parametrize("convention", ["physical", "cimloop"])
def test_bound_prunes_and_matches_on_a_paper_slice(convention: str) -> None:
    """A 4-value-per-variable sub-space of rram-paper: most designs are never evaluated, and
    the result is still the enumeration's."""
    full = SearchSpace.load("rram-paper")
    variables = [Variable(v.name, v.values[np.linspace(0, v.cardinality - 1, 4).astype(int)],
                          v.unit) for v in full.variables]
    space = SearchSpace("rram-paper-4v", variables, fixed=full.fixed)
    cfg = ObjectiveConfig(aggregate="max", area_budget_mm2=800.0)
    ref = exhaustive_search(space, STACK, cfg, convention, progress=False, method="enumerate")
    got = exhaustive_search(space, STACK, cfg, convention, progress=False, method="bound")
    assert_same(got, ref)
    assert ref.n_feasible > 0
    assert got.n_evaluated < 0.5 * space.size


def test_bound_refuses_what_it_cannot_bound() -> None:
    space = sub_space(SearchSpace.load("accuracy-rram-32nm"), np.random.default_rng(1), MAX_SIZE, 4)
    cfg = ObjectiveConfig(aggregate="max", min_snr_db=10.0)
    with pytest.raises(ImcoptError, match="branch and bound does not apply: SNR"):
        exhaustive_search(space, STACK, cfg, progress=False, method="bound")
    with pytest.raises(ImcoptError, match="unknown exhaustive method"):
        exhaustive_search(space, STACK, cfg, progress=False, method="fast")
    auto = exhaustive_search(space, STACK, cfg, progress=False)      # falls back
    assert auto.n_evaluated == auto.n_designs


@pytest.mark.parametrize("deployment", [
    {"batch": 4}, {"residency": "co-resident"}, {"packing": "one-per-group"},
    {"execution": "pipelined"}, {"residency": "per-workload"}])
def test_bound_under_deployment_settings(deployment: dict) -> None:
    """Deployments the bounds cover give the enumeration's result; the others fall back."""
    space = sub_space(SearchSpace.load("extended"), np.random.default_rng(11), MAX_SIZE,
                      4)
    cfg = ObjectiveConfig(aggregate="max", deployment=deployment)
    ref = exhaustive_search(space, STACK, cfg, progress=False, method="enumerate")
    got = exhaustive_search(space, STACK, cfg, progress=False)
    assert_same(got, ref)
    covered = deployment.get("execution") != "pipelined" \
        and deployment.get("residency") != "per-workload"
    if not covered:                     # no bounds for these: every design was evaluated
        assert got.n_evaluated == got.n_designs
    else:
        exhaustive_search(space, STACK, cfg, progress=False, method="bound")  # it applies


@pytest.mark.parametrize("method", ["bound", "enumerate"])
@pytest.mark.parametrize("n", [2, 3])
def test_shares_merge_to_one_search(method: str, n: int) -> None:
    """n shares of one search (what `exhaustive_parallel` runs in n processes), merged, are
    the one search: same top-k, front, specialists, feasible and design counts."""
    from problems.exhaustive import merge_results

    full = SearchSpace.load("sram-paper-4")
    variables = [Variable(v.name, v.values[np.linspace(0, v.cardinality - 1, 3).astype(int)],
                          v.unit) for v in full.variables]
    space = SearchSpace("sram-paper-3v", variables, fixed=full.fixed)
    cfg = ObjectiveConfig(aggregate="mean")
    one = exhaustive_search(space, STACK, cfg, top_k=4, progress=False, method=method)
    parts = [exhaustive_search(space, STACK, cfg, top_k=4, progress=False, method=method,
                               share=(k, n)) for k in range(n)]
    assert sum(p.n_designs for p in parts) == space.size
    assert_same(merge_results(parts[::-1], space, 4), one)

"""The exhaustive search (factored evaluation) == brute force (plain evaluation of every
design) on random small sub-spaces of every built-in space, in both conventions; the
multi-process search == one pass."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_search import sub_space
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problems.exhaustive import exhaustive_parallel, exhaustive_search
from problems.objectives import ObjectiveConfig
from problems.pareto import pareto_indices
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace, list_spaces
from problems.workloads import WorkloadStack, load_workloads

STACKS = {name: WorkloadStack.of(load_workloads(name)) for name in ("paper-4", "paper-9")}
MAX_SIZE = 300
TOP_K = 5


def brute_force(space: SearchSpace, stack: WorkloadStack, cfg: ObjectiveConfig,
                convention: str) -> dict[str, object]:
    """Plain evaluation of every design; optimum, top-k, front, specialists by definition."""
    problem = JointIMCProblem(space, stack, cfg, convention)
    problem.factored = False
    X = space.index_range(0, space.size)
    r = problem.evaluate_batch(X)
    flat = np.arange(space.size)
    feas = r["feasible"]
    order = np.lexsort((flat, r["log10_score"]))
    order = order[feas[order]][:TOP_K]
    P, fl = r["parts_log10"][feas], flat[feas]
    front = set(fl[pareto_indices(P)].tolist()) if fl.size else set()
    W = r["workload_log10"]
    spec = np.where(np.isfinite(W).any(axis=0), np.argmin(W, axis=0), -1)
    return {"top": order, "scores": r["score"][order], "front": front, "spec": spec,
            "spec_log10": W.min(axis=0), "n_feasible": int(feas.sum())}


# paper-9 has attention layers: cimloop counts them as weight layers, physical does not
CASES = [(s, c, w) for s in list_spaces() for c in ("physical", "cimloop")
         for w in ("paper-4", "paper-9")]


@pytest.mark.parametrize("space_name,convention,stack_name", CASES)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), agg=st.sampled_from(["max", "mean", "product"]))
def test_exhaustive_equals_brute_force(space_name: str, convention: str, stack_name: str,
                                       seed: int, agg: str) -> None:
    space = sub_space(SearchSpace.load(space_name), np.random.default_rng(seed), MAX_SIZE, 3)
    stack = STACKS[stack_name]
    cfg = ObjectiveConfig(aggregate=agg)
    ref = brute_force(space, stack, cfg, convention)
    res = exhaustive_search(space, stack, cfg, convention, top_k=TOP_K, chunk=97,
                            progress=False)
    assert res.n_feasible == ref["n_feasible"]
    got_top = space.flat_index(res.top_x) if res.top_x.shape[0] else np.zeros(0, int)
    np.testing.assert_array_equal(got_top, ref["top"])
    np.testing.assert_allclose(res.top_scores, ref["scores"], rtol=1e-12)
    got_front = set(space.flat_index(res.front_x).tolist()) if res.front_x.shape[0] else set()
    assert got_front == ref["front"]
    got_spec = np.array([space.flat_index(x[None])[0] if x[0] >= 0 else -1
                         for x in res.workload_best_x])
    np.testing.assert_array_equal(got_spec, ref["spec"])
    fin = np.isfinite(ref["spec_log10"])
    np.testing.assert_allclose(res.workload_best_log10[fin], ref["spec_log10"][fin],
                               rtol=1e-12)


def test_parallel_equals_one_pass() -> None:
    space = sub_space(SearchSpace.load("extended"), np.random.default_rng(5), MAX_SIZE, 3)
    cfg = ObjectiveConfig(aggregate="max")
    one = exhaustive_search(space, STACKS["paper-4"], cfg, top_k=TOP_K, progress=False)
    two = exhaustive_parallel(space, STACKS["paper-4"], cfg, top_k=TOP_K, jobs=2,
                              progress=False)
    assert one.n_designs == two.n_designs == space.size
    assert one.n_feasible == two.n_feasible
    np.testing.assert_array_equal(one.top_x, two.top_x)
    np.testing.assert_array_equal(one.top_scores, two.top_scores)
    np.testing.assert_array_equal(one.front_x, two.front_x)
    np.testing.assert_array_equal(one.workload_best_x, two.workload_best_x)

"""Exhaustive search == brute force on a small space; Pareto filter; cached specialists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers_search import tiny_space, tiny_workloads
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import problems.exhaustive as exhaustive_mod
from problems.errors import ImcoptError
from problems.exhaustive import exhaustive_search
from problems.objectives import ObjectiveConfig
from problems.pareto import pareto_indices
from problems.problem import JointIMCProblem
from problems.specialists import find_specialists, specialist_edap, store_specialists

SPACE = tiny_space()
WORKLOADS = tiny_workloads()
ALL_X = SPACE.index_range(0, SPACE.size)


def _brute_front(F: np.ndarray) -> set[tuple[float, ...]]:
    out = set()
    for i in range(F.shape[0]):
        dominated = np.all(F[i] >= F, axis=1) & np.any(F[i] > F, axis=1)
        if not dominated.any():
            out.add(tuple(F[i]))
    return out


@settings(max_examples=40, deadline=None)
@given(F=arrays(float, st.tuples(st.integers(1, 300), st.integers(2, 4)),
                elements=st.integers(0, 6).map(float)))
def test_pareto_indices_exact(F: np.ndarray) -> None:
    idx = pareto_indices(F)
    got = [tuple(r) for r in F[idx]]
    assert len(got) == len(set(got))  # one design per distinct vector
    assert set(got) == _brute_front(F)
    for i in idx:  # first occurrence of each vector
        assert not np.any(np.all(F[:i] == F[i], axis=1))


@pytest.mark.parametrize("agg", ["max", "mean", "product"])
def test_exhaustive_matches_brute_force(agg: str) -> None:
    cfg = ObjectiveConfig(aggregate=agg)
    brute = JointIMCProblem(SPACE, WORKLOADS, cfg).evaluate_batch(ALL_X)
    res = exhaustive_search(SPACE, WORKLOADS, cfg, top_k=5, chunk=37, progress=False)
    feas = brute["feasible"]
    assert res.n_designs == 256 and res.n_feasible == int(feas.sum()) > 0
    order = np.lexsort((np.arange(256), brute["log10_score"]))[:5]
    np.testing.assert_array_equal(res.top_x, ALL_X[order])
    np.testing.assert_allclose(res.top_scores, brute["score"][order], rtol=1e-12)
    assert res.best_score == res.top_scores[0] == brute["score"].min()
    assert res.best_design == SPACE.decode(ALL_X[order[:1]]).to_records()[0]
    # exact front of (agg E, agg L, A) among feasible designs
    P = brute["parts_log10"][feas]
    assert {tuple(r) for r in res.front_log10} == _brute_front(P)
    assert np.all(np.diff(res.front_log10[:, 0]) >= 0)
    # front designs really have those objective values
    again = JointIMCProblem(SPACE, WORKLOADS, cfg).evaluate_batch(res.front_x)
    np.testing.assert_allclose(again["parts_log10"], res.front_log10)
    assert again["feasible"].all()


def test_chunking_and_ranges_do_not_change_results() -> None:
    a = exhaustive_search(SPACE, WORKLOADS, top_k=4, chunk=256, progress=False)
    b = exhaustive_search(SPACE, WORKLOADS, top_k=4, chunk=5, progress=False)
    np.testing.assert_array_equal(a.top_x, b.top_x)
    np.testing.assert_array_equal(a.front_x, b.front_x)
    np.testing.assert_array_equal(a.workload_best_x, b.workload_best_x)
    half = exhaustive_search(SPACE, WORKLOADS, top_k=4, progress=False, flat_range=(0, 128))
    assert half.n_designs == 128 and half.best_score >= a.best_score
    assert json.dumps(a.to_dict())  # JSON-serialisable
    with pytest.raises(ImcoptError, match="flat_range"):
        exhaustive_search(SPACE, WORKLOADS, progress=False, flat_range=(10, 5))
    with pytest.raises(ImcoptError, match="top_k"):
        exhaustive_search(SPACE, WORKLOADS, top_k=0, progress=False)


def test_no_feasible_design() -> None:
    res = exhaustive_search(SPACE, WORKLOADS, ObjectiveConfig(area_budget_mm2=0.1),
                            progress=False)
    assert res.n_feasible == 0 and res.best_x is None and res.best_score == np.inf
    assert res.front_x.shape == (0, SPACE.n_var)


def test_specialists_exact_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path))
    brute = JointIMCProblem(SPACE, WORKLOADS).evaluate_batch(ALL_X)
    spec = find_specialists(SPACE, WORKLOADS)
    W = brute["edap"].copy()
    ok = (brute["G"][:, 2:] <= 0) & (brute["G"][:, :1] <= 0)
    W[~ok] = np.inf
    np.testing.assert_allclose(spec.edap, W.min(axis=0), rtol=1e-12)
    for w in range(3):  # the chosen design is the first (lowest index) optimum
        assert spec.x[w].tolist() == ALL_X[np.argmin(W[:, w])].tolist()
    assert spec.largest_workload == "c" and spec.largest_x.tolist() == spec.x[2].tolist()
    # joint designs are feasible for every workload alone: they cannot beat specialists
    assert np.all(brute["edap"][brute["feasible"]] >= spec.edap[None, :] * (1 - 1e-12))
    files = list((tmp_path / "specialists").glob("*.json"))
    assert len(files) == 1 and not list((tmp_path / "specialists").glob("*.tmp"))

    def boom(*a, **k):
        raise AssertionError("cache not used")

    monkeypatch.setattr(exhaustive_mod, "exhaustive_search", boom)
    again = find_specialists(SPACE, WORKLOADS)
    np.testing.assert_array_equal(again.x, spec.x)
    np.testing.assert_allclose(again.edap, spec.edap)
    # a different area budget is a different cache entry -> recomputation
    with pytest.raises(AssertionError, match="cache not used"):
        find_specialists(SPACE, WORKLOADS, ObjectiveConfig(area_budget_mm2=7.0))


def test_normalized_aggregation_uses_specialists(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path))
    cfg = ObjectiveConfig(aggregate="normalized", normalized_by="max")
    res = exhaustive_search(SPACE, WORKLOADS, cfg, top_k=3, progress=False)
    spec = specialist_edap(SPACE, WORKLOADS)
    assert res.best_score >= 1.0  # no joint design beats a specialist on its own workload
    brute = JointIMCProblem(SPACE, WORKLOADS, cfg, specialist_edap=spec).evaluate_batch(ALL_X)
    feas = brute["feasible"]
    ratio = (brute["edap"][feas] / spec[None, :]).max(axis=1)
    np.testing.assert_allclose(res.best_score, ratio.min(), rtol=1e-10)
    with pytest.raises(ImcoptError, match="no feasible design"):
        specialist_edap(SPACE, WORKLOADS, ObjectiveConfig(area_budget_mm2=0.1))


def test_store_specialists_from_full_run(tmp_path: Path) -> None:
    res = exhaustive_search(SPACE, WORKLOADS, ObjectiveConfig(aggregate="mean"), progress=False)
    spec = store_specialists(res, SPACE, WORKLOADS, cache=tmp_path)
    assert spec is not None
    fresh = find_specialists(SPACE, WORKLOADS, use_cache=False)
    np.testing.assert_array_equal(spec.x, fresh.x)
    cached = find_specialists(SPACE, WORKLOADS, cache=tmp_path)
    np.testing.assert_allclose(cached.edap, fresh.edap)
    part = exhaustive_search(SPACE, WORKLOADS, progress=False, flat_range=(0, 10))
    assert store_specialists(part, SPACE, WORKLOADS, cache=tmp_path) is None

"""Aggregations of per-workload costs (log10 space), fabrication cost and config validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from problems.errors import ImcoptError
from problems.objectives import (
    ObjectiveConfig,
    aggregate_edap,
    aggregate_log10,
    node_cost_factor,
    objectives_log10,
)

E = np.array([[1e-3, 2e-3, 4e-3]])
L = np.array([[1e-6, 3e-6, 2e-6]])
A = np.array([10.0])


@pytest.mark.parametrize("agg,expected", [
    ("max", 4e-3 * 3e-6 * 10),
    ("mean", (7e-3 / 3) * (6e-6 / 3) * 10),
    ("product", 10 * (1e-3 * 2e-3 * 4e-3) * (1e-6 * 3e-6 * 2e-6)),
    ("geomean", 10 * (8e-9) ** (1 / 3) * (6e-18) ** (1 / 3)),
])
def test_aggregations_known_values(agg: str, expected: float) -> None:
    cfg = ObjectiveConfig(aggregate=agg)
    got = aggregate_edap(E, L, A, cfg)
    np.testing.assert_allclose(got, [expected], rtol=1e-10)
    np.testing.assert_allclose(aggregate_log10(E, L, A, cfg), [np.log10(expected)], rtol=1e-12)


def test_weighted_and_normalized() -> None:
    w = ObjectiveConfig(aggregate="weighted", weights=(1.0, 0.0, 3.0))
    exp = (0.25 * 1e-3 + 0.75 * 4e-3) * (0.25 * 1e-6 + 0.75 * 2e-6) * 10
    np.testing.assert_allclose(aggregate_edap(E, L, A, w), [exp], rtol=1e-10)
    with pytest.raises(ImcoptError, match="weights"):
        aggregate_edap(E, L, A, ObjectiveConfig(aggregate="weighted", weights=(1.0, 2.0)))
    spec = (E * L * A[:, None])[0] / np.array([2.0, 1.0, 4.0])
    nmax = ObjectiveConfig(aggregate="normalized", normalized_by="max")
    nmean = ObjectiveConfig(aggregate="normalized", normalized_by="mean")
    np.testing.assert_allclose(aggregate_edap(E, L, A, nmax, spec), [4.0])
    np.testing.assert_allclose(aggregate_edap(E, L, A, nmean, spec), [7.0 / 3])
    with pytest.raises(ImcoptError, match="specialist_edap"):
        aggregate_edap(E, L, A, nmax)
    with pytest.raises(ImcoptError, match="specialist_edap"):
        aggregate_edap(E, L, A, nmax, np.array([1.0, 0.0, 1.0]))


@pytest.mark.parametrize("agg", ["max", "mean", "product", "geomean"])
@pytest.mark.parametrize("bad", [np.inf, np.nan, 0.0, -1.0])
def test_invalid_entries_are_never_optimal(agg: str, bad: float) -> None:
    cfg = ObjectiveConfig(aggregate=agg)
    E2 = np.vstack([E, E])
    E2[1, 1] = bad
    out = aggregate_edap(E2, np.vstack([L, L]), np.array([10.0, 10.0]), cfg)
    assert np.isfinite(out[0]) and out[1] == np.inf
    out = aggregate_log10(E, L, np.array([bad]), cfg)
    assert out[0] == np.inf


@settings(max_examples=60, deadline=None)
@given(le=arrays(float, (4, 9), elements=st.floats(-150, 150)),
       ll=arrays(float, (4, 9), elements=st.floats(-150, 150)),
       la=arrays(float, (4,), elements=st.floats(-5, 5)))
def test_product_finite_for_nine_workloads_tiny_and_huge(le, ll, la) -> None:
    """E, L in 1e-150 .. 1e150 over 9 workloads: the linear product overflows or underflows,
    the log10 score is finite and exact."""
    Ev, Lv, Av = 10.0 ** le, 10.0 ** ll, 10.0 ** la
    for agg in ("product", "geomean", "mean", "max"):
        s = aggregate_log10(Ev, Lv, Av, ObjectiveConfig(aggregate=agg))
        assert np.all(np.isfinite(s)), agg
    s = aggregate_log10(Ev, Lv, Av, ObjectiveConfig(aggregate="product"))
    np.testing.assert_allclose(s, le.sum(1) + ll.sum(1) + la, rtol=1e-9, atol=1e-6)
    m = aggregate_log10(Ev, Lv, Av, ObjectiveConfig(aggregate="mean"))
    assert np.all(m >= le.mean(1) + ll.mean(1) + la - 1e-6)  # mean >= geomean


def test_node_cost_factor_table_and_interpolation() -> None:
    k = node_cost_factor(np.array([7, 10, 14, 22, 32, 45]))
    np.testing.assert_allclose(k, [387.09, 224.31, 149.76, 128.28, 100.0, 60.61])
    k65 = node_cost_factor(65.0)
    assert 0 < k65 < 60.61  # extrapolated along the 32-45 nm trend
    k28 = node_cost_factor(28.0)
    assert 100.0 < k28 < 128.28
    cfg = ObjectiveConfig(fabrication_cost="product")
    base = aggregate_edap(E, L, A, ObjectiveConfig())
    np.testing.assert_allclose(aggregate_edap(E, L, A, cfg, technology_nm=np.array([7.0])),
                               base * 387.09)
    alone = ObjectiveConfig(fabrication_cost="alone")
    np.testing.assert_allclose(aggregate_edap(E, L, A, alone, technology_nm=45.0), [606.1])
    with pytest.raises(ImcoptError, match="technology_nm"):
        aggregate_edap(E, L, A, cfg)


def test_objective_matrices() -> None:
    multi = objectives_log10(E, L, A, ObjectiveConfig(kind="multi", aggregate="max"))
    np.testing.assert_allclose(multi, [[np.log10(4e-3), np.log10(3e-6), 1.0]])
    many = objectives_log10(E, L, A, ObjectiveConfig(kind="many"))
    np.testing.assert_allclose(many, np.log10(E * L * 10))
    single = objectives_log10(E, L, A, ObjectiveConfig())
    assert single.shape == (1, 1)


@pytest.mark.parametrize("kw,match", [
    ({"kind": "few"}, "kind"), ({"aggregate": "median"}, "aggregate"),
    ({"normalized_by": "min"}, "normalized_by"), ({"fabrication_cost": True}, "fabrication"),
    ({"aggregate": "weighted"}, "weights"), ({"weights": (1.0, -1.0)}, "weights"),
    ({"area_budget_mm2": 0.0}, "area_budget"), ({"node_cost_factor": {32: 100}}, "two nodes"),
    ({"node_cost_factor": {32: 100, 45: -1}}, "positive"),
])
def test_config_validation(kw: dict, match: str) -> None:
    with pytest.raises(ImcoptError, match=match):
        ObjectiveConfig(**kw)


def test_config_roundtrip() -> None:
    cfg = ObjectiveConfig(kind="multi", aggregate="weighted", weights=(1, 2),
                          fabrication_cost="product", area_budget_mm2=500)
    assert ObjectiveConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ImcoptError, match="unknown field"):
        ObjectiveConfig.from_dict({"bogus": 1})

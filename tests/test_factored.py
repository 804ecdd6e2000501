"""Factored evaluation (problems.hardware.factored): the same numbers as the plain
evaluation on random designs of every built-in space, under several deployments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problems.hardware.deployment import Deployment
from problems.hardware.physical import PhysicalModel
from problems.hardware.registry import get_cost_model
from problems.spaces import SearchSpace, list_spaces
from problems.workloads import WorkloadStack, load_workloads

STACKS = {name: WorkloadStack.of(load_workloads(name)) for name in ("paper-4", "paper-9")}
RTOL = 0.0  # bit-identical (the brief asks <= 1e-12)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    fin = np.isfinite(a)
    assert np.array_equal(fin, np.isfinite(b)) and np.array_equal(a[~fin], b[~fin])
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(a[fin] - b[fin]) / np.maximum(np.abs(a[fin]), 1e-300)))


def _compare(model, designs, stack) -> None:
    plain = model.evaluate(designs, stack)
    fac = model.evaluate_factored(designs, stack)
    for field in ("energy_j", "latency_s", "area_mm2", "utilisation"):
        assert _max_rel(getattr(plain, field), getattr(fac, field)) <= RTOL, field
    assert np.array_equal(plain.weights_resident, fac.weights_resident)
    assert np.array_equal(plain.valid, fac.valid)


@pytest.mark.parametrize("space_name", list_spaces())
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400),
       stack_name=st.sampled_from(sorted(STACKS)))
def test_factored_equals_plain_every_space(space_name: str, seed: int, n: int,
                                           stack_name: str) -> None:
    space = SearchSpace.load(space_name)
    X = space.random(n, np.random.default_rng(seed))
    # duplicates within a population (common in GA populations) share one structure
    X = np.concatenate([X, X[: max(1, n // 3)]])
    _compare(get_cost_model("physical"), space.decode(X), STACKS[stack_name])


@pytest.mark.parametrize("dep", [Deployment(batch=4), Deployment(residency="co-resident"),
                                 Deployment(packing="one-per-group")], ids=str)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_factored_equals_plain_deployments(dep: Deployment, seed: int) -> None:
    space = SearchSpace.load("extended")
    X = space.random(300, np.random.default_rng(seed))
    _compare(PhysicalModel(dep), space.decode(X), STACKS["paper-9"])


def test_factored_spill_and_big_layers_covered() -> None:
    """The random designs above do exercise the GLB spill and non-resident paths."""
    space = SearchSpace.load("extended")
    d = space.decode(space.random(2000, np.random.default_rng(1)))
    r = get_cost_model("physical").evaluate_factored(d, STACKS["paper-9"])
    assert (~r.weights_resident).any() and r.weights_resident.any()
    stack = STACKS["paper-9"]
    glb_bits = d.glb_bytes * 8.0
    from problems.hardware.physical_counts import _layer_constants
    lc = _layer_constants(stack)
    assert (glb_bits < (lc["input_tensor_bits"] + lc["output_tensor_bits"]).max()).any()


def test_cimloop_factored_is_its_structure_memo() -> None:
    """cimloop's evaluate_factored (the default: its own per-structure count memo) equals
    evaluate."""
    space = SearchSpace.load("rram-paper")
    d = space.decode(space.random(500, np.random.default_rng(3)))
    _compare(get_cost_model("cimloop"), d, STACKS["paper-4"])


@pytest.mark.parametrize("space_name", ["rram-paper", "sram-paper-9", "extended"])
def test_factored_equals_plain_in_enumeration_order(space_name: str) -> None:
    """Consecutive designs of the enumeration (which reuse the previous design's latency sums
    when their inputs are equal) give the plain numbers too."""
    space = SearchSpace.load(space_name)
    start = space.size // 3
    _compare(get_cost_model("physical"), space.decode(space.index_range(start, start + 3000)),
             STACKS["paper-9"])


@pytest.mark.parametrize(("space_name", "convention"),
                         [("rram-paper", "physical"), ("sram-paper-9", "physical"),
                          ("extended", "physical"), ("rram-paper", "cimloop"),
                          ("sram-paper-4", "cimloop")])
def test_screen_skips_only_designs_infeasible_everywhere(space_name: str,
                                                         convention: str) -> None:
    """`Screen`: the skipped designs are exactly those over the area budget or (RRAM) resident
    for no workload; the kept ones get the unscreened numbers; and the problem's screened view
    (the exhaustive search's) has the same feasible set, scores and specialists."""
    from problems.hardware.model import Screen
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem

    space = SearchSpace.load(space_name)
    stack = STACKS["paper-4"]
    X = space.indices_of(np.random.default_rng(7).integers(0, space.size, 3000))
    designs = space.decode(X)
    budget = 150.0 if convention == "physical" else 800.0
    model = get_cost_model(convention)
    full = model.evaluate(designs, stack)
    scr = model.evaluate_factored(designs, stack, Screen(max_area_mm2=budget, rram_resident=True))
    kept = scr.valid.any(axis=1)
    expect = (full.area_mm2 <= budget) & (~(designs.memory == 0) | full.weights_resident.any(1))
    assert np.array_equal(kept, expect)
    assert 0 < kept.sum() < kept.size                       # the test screens something
    assert not np.isfinite(scr.energy_j[~kept]).any()
    assert _max_rel(full.energy_j[kept], scr.energy_j[kept]) <= RTOL
    assert _max_rel(full.latency_s[kept], scr.latency_s[kept]) <= RTOL
    assert np.array_equal(full.area_mm2, scr.area_mm2)
    assert np.array_equal(full.weights_resident, scr.weights_resident)
    p = JointIMCProblem(space, stack, ObjectiveConfig(aggregate="max", area_budget_mm2=budget),
                        convention)
    ref, lean = p.evaluate_batch(X), p.screened_scores(X)
    assert ref["feasible"].any()
    for key in ("feasible", "log10_score", "workload_log10"):
        assert np.array_equal(ref[key], lean[key]), key
    f = ref["feasible"]
    assert np.array_equal(ref["parts_log10"][f], lean["parts_log10"][f])

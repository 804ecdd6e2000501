"""The compiled cimloop counts (problems.hardware.cimloop_kernel) and packing rule
(problems.hardware.packing_kernel): the same numbers as the numpy statement of the counts and
the Python rule, whatever the batch and the state of the packing tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problems.hardware import cimloop_components as cc
from problems.hardware import cimloop_counts as ccn
from problems.hardware.cimloop_data import average_input_values
from problems.hardware.cimloop_kernel import SUMMED, summed_counts
from problems.hardware.design import DesignBatch
from problems.hardware.packing import PackingCache, start
from problems.hardware.packing_kernel import RuleKernel
from problems.hardware.packing_rule import DIMS, LEVELS, _pack_level
from problems.spaces import SearchSpace, list_spaces
from problems.workloads import WorkloadStack, load_workloads

STACK = WorkloadStack.of(load_workloads("paper-4"))   # mobilenet_v3: strides, depthwise
ACT = average_input_values(STACK, None) / cc.AVG_INPUT


def _structures(space: str, n: int, seed: int) -> DesignBatch:
    sp = SearchSpace.load(space)
    d = sp.decode(sp.random(n, np.random.default_rng(seed)))
    first, _ = ccn.structures(d)
    return d.take(first)


def _kernel_counts(d: DesignBatch, cache: PackingCache) -> dict[str, np.ndarray]:
    lc = ccn._layer_classes(STACK, ACT)
    return summed_counts(d, lc, ccn.class_layers(STACK, lc), cache)


@pytest.mark.parametrize("space", list_spaces())
def test_kernel_equals_numpy_reference_every_space(space: str) -> None:
    """Every count of the compiled path equals `counts_reference` (integer-valued sums
    exactly, the fractional ones to the last bits: the kernel adds classes in order, BLAS
    in its own)."""
    d = _structures(space, 600, 3)
    ref = ccn.counts_reference(d, STACK, ACT)
    got = ccn._compute(d, STACK, ACT)
    assert set(got) == set(ref) == set(ccn.COUNT_NAMES)
    for k in ccn.COUNT_NAMES:
        a, b = np.asarray(got[k], float), np.asarray(ref[k], float)
        if k in ("row_reads_active", "conversions"):
            np.testing.assert_allclose(a, b, rtol=4e-15, err_msg=k)
        else:
            np.testing.assert_array_equal(a, b, err_msg=k)


def test_counts_do_not_depend_on_the_batch_or_the_tables() -> None:
    """A structure's counts are the same bits from a cold table, a warm one, alone, in a
    subset or in another order."""
    d = _structures("extended", 400, 11)
    cold = _kernel_counts(d, PackingCache())
    warm = PackingCache()
    _kernel_counts(d.take(slice(0, 50)), warm)
    again = _kernel_counts(d, warm)
    order = np.random.default_rng(0).permutation(len(d))
    shuffled = _kernel_counts(d.take(order), warm)
    one = _kernel_counts(d.take(7), PackingCache())
    for k in (*SUMMED, "mpc", "placed"):
        np.testing.assert_array_equal(cold[k], again[k], err_msg=k)
        np.testing.assert_array_equal(cold[k][order], shuffled[k], err_msg=k)
        np.testing.assert_array_equal(cold[k][7], one[k][0], err_msg=k)


def test_failed_fill_leaves_the_tables_consistent(monkeypatch) -> None:
    """If computing missing entries fails, no entry stays marked and the next call is right."""
    d = _structures("rram-paper", 200, 5)
    cache = PackingCache()
    real = cache.rule.pack_levels
    calls = {"n": 0}

    def flaky(level, states, caps):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(level, states, caps)

    monkeypatch.setattr(cache.rule, "pack_levels", flaky)
    with pytest.raises(KeyboardInterrupt):
        _kernel_counts(d, cache)
    assert all(not (t.link == -2).any() for t in cache.tables)
    got = _kernel_counts(d, cache)
    ref = _kernel_counts(d, PackingCache())
    for k in SUMMED:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(level=st.integers(0, len(LEVELS) - 1), seed=st.integers(0, 2**32 - 1),
       smooth=st.booleans())
def test_compiled_rule_equals_python_rule(level: int, seed: int, smooth: bool) -> None:
    """The compiled greedy rule gives the Python rule's factors and leftovers, ties included
    (smooth sizes have many equally good allocations; the rule keeps the first found in the
    interpreter's set order)."""
    rng = np.random.default_rng(seed)
    m = 60
    if smooth:       # products of small primes: many ties
        states = np.prod(rng.choice([1, 2, 3, 5, 7], (m, len(DIMS), 5)), axis=2)
    else:
        states = rng.integers(1, 5000, (m, len(DIMS)))
    caps = rng.choice([1, 2, 3, 7, 8, 12, 16, 30, 64, 100, 128, 512, 1000, 4096], m)
    fac, left = RuleKernel().pack_levels(level, states, caps)
    for j in range(m):
        f, rest = _pack_level(level, tuple(int(v) for v in states[j]), int(caps[j]))
        assert tuple(fac[j].tolist()) == f and tuple(left[j].tolist()) == rest, (states[j],
                                                                              caps[j])


def test_distinct_evaluates_once_per_combination() -> None:
    """`DesignBatch.distinct`: f(representatives)[inverse] is f of the batch, element for
    element, on few and on many distinct combinations."""
    sp = SearchSpace.load("extended")
    d = sp.decode(sp.random(3000, np.random.default_rng(2)))
    for names in (("memory", "voltage_v"), ("xbar_rows", "xbar_cols", "glb_bytes",
                                             "cycle_time_s", "voltage_v", "technology_nm")):
        rep, inv = d.distinct(names)
        assert len(rep) <= len(d)
        for n in names:
            np.testing.assert_array_equal(getattr(rep, n)[inv], getattr(d, n))
        key = np.stack([getattr(d, n) for n in names], 1)
        assert len(rep) == len(np.unique(key, axis=0))


def test_stale_missing_marks_are_recomputed() -> None:
    """Entries left marked missing (-2) by an interrupted call are computed, not skipped."""
    d = _structures("sram-paper-4", 150, 8)
    ref = _kernel_counts(d, PackingCache())
    cache = PackingCache()
    lc = ccn._layer_classes(STACK, ACT)
    layers = {k: getattr(STACK, k)[lc["first"]] for k in ("N", "C", "M", "R", "S", "P", "Q",
                                                          "G")}
    st = start(layers, d.is_sram, d.bits_per_cell, d.xbar_rows, d.xbar_cols,
               d.macros_per_tile, d.tiles_per_group, d.router_groups, cache)
    links = cache.compiled_tables()[0]
    links[0][st.init.ravel()[:, None], np.unique(st.cap_idx[:, 0])[None, :]] = -2
    got = _kernel_counts(d, cache)
    assert all(not (t.link == -2).any() for t in cache.tables)
    for k in SUMMED:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)


@pytest.mark.parametrize("space", list_spaces())
def test_per_combination_energies_and_areas_equal_per_design(space: str) -> None:
    """Energies, multipliers and area entries computed once per combination of the fields
    they are declared to depend on (`ENERGY_FIELDS`, `COEFFICIENT_FIELDS`,
    `AREA_KEY_FIELDS`) equal the design-by-design values bit for bit: a field left out of a
    declaration would make them differ."""
    from problems.hardware import cimloop as cm
    from problems.hardware import cimloop_area as ca
    from problems.hardware.cimloop_data import load_calibration

    sp = SearchSpace.load(space)
    d = sp.decode(sp.random(2000, np.random.default_rng(21)))
    cal = load_calibration()
    got = cm.raw_action_energies_j(d, cal)
    want = cm._raw_action_energies_j(d, cal, tuple(cm.ACTIONS))
    assert set(got) == set(want) == set(cm.ACTIONS)
    for a in cm.ACTIONS:
        np.testing.assert_array_equal(got[a], want[a], err_msg=a)
    got = cm.energy_coefficients(d, cal)
    want = cm._energy_coefficients(d, cal)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    table = cal["area"]["um2"]
    got = ca.fitted_entries_um2(d, table)
    prior = ca.area_priors_um2(d)
    for k, (cols, key) in ca.AREA_KEYS.items():
        want = ca.keyed_lookup(table, cols(d), key, prior[k])
        np.testing.assert_array_equal(got[k], want, err_msg=k)


def test_table_completion_before_and_after_a_counting_pass(monkeypatch) -> None:
    """Young tables are completed before counting, older ones after a first pass finds missing
    entries; both give the counts of the numpy statement, with one counting pass (cold) or
    two (warm tables that miss some entries)."""
    from problems.hardware import cimloop_kernel as ck

    d = _structures("extended", 300, 21)
    ref = ccn.counts_reference(d, STACK, ACT)
    calls: list[str] = []
    real_kernel, real_complete = ck._kernel, ck._complete_tables

    def kernel(*a):
        calls.append("count")
        return real_kernel(*a)

    def complete(*a):
        calls.append("complete")
        return real_complete(*a)

    monkeypatch.setattr(ck, "_kernel", kernel)
    monkeypatch.setattr(ck, "_complete_tables", complete)
    old = PackingCache()                         # many entries, but not this batch's
    _kernel_counts(_structures("rram-paper", 3000, 22), old)
    assert old.n_entries > len(d)
    for cache, path in ((PackingCache(), ["complete", "count"]),
                        (old, ["count", "complete", "count"])):
        calls.clear()
        got = _kernel_counts(d, cache)
        assert calls == path
        for k in ("row_reads_active", "conversions", "cells_filled", "busy_s"):
            np.testing.assert_allclose(got[k], ref[k], rtol=4e-15, err_msg=k)
        calls.clear()
        again = _kernel_counts(d, cache)             # complete now: one pass
        assert calls == ["count"]
        for k in SUMMED:
            np.testing.assert_array_equal(again[k], got[k], err_msg=k)

"""Block bounds (`CostModel.block_bounds`): every quantity a bound minimises over probes is
monotone in each declared ``monotone_fields`` field, and the bounds hold for every design of
random blocks of every built-in space (energy, latency >= bound; area within its range)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problems.branch_bound import plan_blocks
from problems.hardware import cimloop, physical
from problems.hardware.design import DesignBatch
from problems.hardware.registry import get_cost_model
from problems.spaces import SearchSpace, list_spaces
from problems.workloads import WorkloadStack, load_workloads

STACK = WorkloadStack.of(load_workloads("paper-4"))
QUANTITIES = {"physical": physical.probe_quantities,
              "cimloop": cimloop.probe_quantities}
SWEEPS = {  # wider than any built-in space
    "technology_nm": [7, 10, 14, 22, 28, 32, 45, 65],
    "voltage_v": [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85],
    "cycle_time_s": [1e-9, 2e-9, 4e-9, 6e-9, 8e-9, 1e-8],
    "adc_bits": [3, 4, 5, 6, 7, 8],
    "adcs_per_macro": [1, 2, 4, 8, 16],
    "glb_bytes": [2**k for k in range(17, 28)],
}
RANDOM = {"memory": ["RRAM", "SRAM"], "xbar_rows": [16, 32, 64, 128, 256, 512],
          "xbar_cols": [16, 32, 64, 128, 256, 512], "bits_per_cell": [1, 2, 4, 8],
          "router_groups": [1, 2, 6, 32], "tiles_per_group": [2, 8, 64],
          "macros_per_tile": [2, 16, 128]} | SWEEPS


@pytest.mark.parametrize("convention", sorted(QUANTITIES))
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_probe_quantities_are_monotone_in_monotone_fields(convention: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = {k: v[int(rng.integers(len(v)))] for k, v in RANDOM.items()}
    base["adcs_per_macro"] = min(base["adcs_per_macro"], base["xbar_cols"])
    if base["memory"] == "SRAM":
        base["bits_per_cell"] = 1
    model = get_cost_model(convention)
    for field in model.monotone_fields:
        sweep = [v for v in SWEEPS[field]
                 if field != "adcs_per_macro" or v <= base["xbar_cols"]]
        q = QUANTITIES[convention](DesignBatch.from_dict({**base, field: sweep}))
        for name, v in q.items():
            d = np.diff(np.broadcast_to(v, (len(sweep),)))
            assert np.all(d >= 0) or np.all(d <= 0), (field, name, v)


@pytest.mark.parametrize("space_name", list_spaces())
@pytest.mark.parametrize("convention", ["physical", "cimloop"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_bounds_hold_for_every_design_of_random_blocks(space_name: str, convention: str,
                                                       seed: int) -> None:
    space = SearchSpace.load(space_name)
    model = get_cost_model(convention)
    blocks = plan_blocks(space, model.structure_fields, model.monotone_fields)
    rng = np.random.default_rng(seed)
    b = np.sort(rng.choice(blocks.n_blocks, size=min(4, blocks.n_blocks), replace=False))
    # the probes of these blocks, and (a random sample of) their designs
    X, starts = blocks.probes(b)
    bb = model.block_bounds(space.decode(X), starts, STACK)
    for i, blk in enumerate(b):
        _, Xd = blocks.designs(np.array([blk]), 0, space.size)
        Xd = Xd[rng.choice(Xd.shape[0], size=min(300, Xd.shape[0]), replace=False)]
        r = model.evaluate(space.decode(Xd), STACK)
        ok = r.valid
        assert np.all(r.energy_j[ok] >= bb.energy_j[i][None, :].repeat(len(Xd), 0)[ok]
                      * (1 - 1e-12))
        assert np.all(r.latency_s[ok] >= bb.latency_s[i][None, :].repeat(len(Xd), 0)[ok]
                      * (1 - 1e-12))
        area = np.asarray(r.area_mm2)
        assert np.all(area >= bb.area_min_mm2[i] * (1 - 1e-12))
        assert np.all(area <= bb.area_max_mm2[i] * (1 + 1e-12))
        np.testing.assert_array_equal(np.asarray(r.weights_resident),
                                      np.broadcast_to(bb.resident[i], r.valid.shape))
        assert np.all(bb.energy_j[i] > 0) and np.all(bb.latency_s[i] > 0)

"""The physical convention's mapping (problems/hardware/mapping.py) and deployment settings
(problems/hardware/deployment.py): block-diagonal packing of grouped layers, figures of
non-grouped networks unchanged, residency policies, pipelined execution, batch."""

from __future__ import annotations

import numpy as np
import pytest

from problems.errors import ImcoptError
from problems.hardware.cost import evaluate
from problems.hardware.deployment import Deployment, lifetime_inferences
from problems.hardware.design import DesignBatch
from problems.hardware.mapping import map_workloads, tile, tile_keys
from problems.hardware.physical import evaluate_physical
from problems.hardware.physical_counts import workload_counts
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import load_workloads
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack


def _conv(name, C, M, R, P, G=1, dynamic=False):
    return {"layer": name, "C": C, "M": M, "R": R, "S": R, "P": P, "Q": P, "G": G,
            "h_stride": 1, "w_stride": 1, "dynamic": dynamic}


def _designs(n: int, seed: int = 0, memory: str | None = None) -> DesignBatch:
    rng = np.random.default_rng(seed)
    mem = rng.choice(["RRAM", "SRAM"], n) if memory is None else [memory] * n
    p = dict(
        memory=mem, technology_nm=rng.choice([7, 14, 22, 32, 45, 65], n),
        voltage_v=rng.choice(np.arange(0.5, 0.86, 0.05), n),
        bits_per_cell=rng.integers(1, 9, n), cycle_time_s=rng.choice([1, 2, 4, 10], n) * 1e-9,
        xbar_rows=rng.choice([32, 64, 128, 256, 512], n),
        xbar_cols=rng.choice([32, 64, 128, 256, 512], n), adc_bits=rng.integers(3, 9, n),
        adcs_per_macro=rng.choice([4, 8, 16, 64], n), router_groups=rng.choice([1, 2, 4, 8], n),
        tiles_per_group=rng.choice([1, 4, 16, 64], n),
        macros_per_tile=rng.choice([2, 8, 32, 128], n),
        glb_bytes=rng.choice([2**16, 2**20, 2**23, 2**25], n))
    p["adcs_per_macro"] = np.minimum(p["adcs_per_macro"], p["xbar_cols"])
    return DesignBatch.from_dict(p)


def _random_grouped_stack(rng: np.random.Generator, n: int = 40) -> WorkloadStack:
    recs = [_conv(f"g{i}", int(rng.integers(1, 40)), int(rng.integers(1, 40)),
                  int(rng.choice([1, 3, 5])), 4, G=int(rng.integers(1, 300))) for i in range(n)]
    return WorkloadStack.of([Workload.from_records("grouped", recs)])


# -- packing ---------------------------------------------------------------------------------
def test_block_diagonal_between_cell_bound_and_one_per_group() -> None:
    rng = np.random.default_rng(3)
    stack = _random_grouped_stack(rng)
    xr = rng.choice([32, 64, 128, 256, 512], 60)
    xc = rng.choice([32, 64, 128, 256, 512], 60)
    bpc = rng.integers(1, 9, 60)
    packed = tile(xr, xc, bpc, stack, "block-diagonal")
    single = tile(xr, xc, bpc, stack, "one-per-group")
    # one-per-group is the old rule: row tiles x column tiles x G
    slices = np.ceil(8 / bpc)[:, None]
    rows = (stack.C * stack.R * stack.S)[None, :]
    cols = stack.M[None, :] * slices
    old = np.ceil(rows / xr[:, None]) * np.ceil(cols / xc[:, None]) * stack.G[None, :]
    np.testing.assert_array_equal(single.arrays, old)
    assert np.all(packed.arrays <= single.arrays)
    cells_needed = stack.G[None, :] * rows * cols
    assert np.all(packed.arrays * xr[:, None] * xc[:, None] >= cells_needed)
    assert np.any(packed.arrays < single.arrays)      # the packing does something
    # the arrays cannot be fewer: k groups must fit both dimensions of one crossbar
    k = packed.groups_per_array
    assert np.all(k * rows[0] <= np.maximum(xr[:, None], rows)) and \
        np.all(k * cols <= np.maximum(xc[:, None], cols))
    k_max = np.minimum(np.minimum(xr[:, None] // rows, xc[:, None] // cols), stack.G[None, :])
    k_max = np.maximum(k_max, 1)
    np.testing.assert_array_equal(packed.group_arrays, np.ceil(stack.G[None, :] / k_max))


def test_depthwise_utilisation_and_honest_counts() -> None:
    """3x3 depthwise, 960 channels, 128 x 128 crossbars of 8-bit cells (1 column per weight):
    one-per-group uses 960 arrays at 9/128 rows; block-diagonal 14 groups per array."""
    dw = WorkloadStack.of([Workload.from_records("dw", [_conv("dw", 1, 1, 3, 7, G=960)])])
    t = tile(np.array([128]), np.array([128]), np.array([8]), dw)
    assert t.groups_per_array[0, 0] == 14 and t.arrays[0, 0] == np.ceil(960 / 14)
    assert t.rows_per_array[0, 0] == 126               # 98 % of the rows (7 % one-per-group)
    d = DesignBatch.from_dict({"memory": ["RRAM"], "xbar_rows": [128], "xbar_cols": [128],
                               "bits_per_cell": [8], "adcs_per_macro": [16]})
    packed = workload_counts(d, dw)
    single = workload_counts(d, dw, Deployment(packing="one-per-group"))
    for key in ("conversions", "row_activations", "psum_adds", "cells_written_dynamic"):
        np.testing.assert_array_equal(packed[key], single[key])
    # every driven row crosses the k groups' converted columns: sum_j k_j^2 / G more reads
    n_sets = np.ceil(960 / 14)
    q, r = np.floor(960 / n_sets), 960 - np.floor(960 / n_sets) * n_sets
    factor = (r * (q + 1) ** 2 + (n_sets - r) * q ** 2) / 960
    np.testing.assert_allclose(packed["cell_reads"] / single["cell_reads"], factor, rtol=1e-12)
    assert packed["arrays_needed"][0, 0] < single["arrays_needed"][0, 0]
    assert packed["cells_allocated"][0, 0] < single["cells_allocated"][0, 0]


def test_non_grouped_networks_unchanged_by_packing() -> None:
    """Defaults on thousands of random designs: the networks without grouped layers (CNNs,
    transformers with dynamic attention) get the same figures as with the old one-per-group
    rule; mobilenet_v3 (depthwise) does not."""
    ws = load_workloads("paper-9")
    stack = WorkloadStack.of(ws)
    d = _designs(3000, seed=7)
    new = evaluate_physical(d, stack, breakdown=True)
    old = evaluate_physical(d, stack, breakdown=True,
                            deployment=Deployment(packing="one-per-group"))
    grouped = np.array([bool(np.any(w.G > 1) and np.any(w.G[~w.dynamic] > 1)) for w in ws])
    assert grouped.tolist().count(True) >= 1 and ws[3].name == "mobilenet_v3" and grouped[3]
    keep = ~grouped
    for a, b in [(new.energy_j, old.energy_j), (new.latency_s, old.latency_s),
                 (new.utilisation, old.utilisation)] + \
            [(new.energy_breakdown_j[k], old.energy_breakdown_j[k])
             for k in new.energy_breakdown_j]:
        rel = np.abs(a[:, keep] - b[:, keep]) / np.maximum(np.abs(b[:, keep]), 1e-300)
        assert rel.max() <= 1e-12
    np.testing.assert_array_equal(new.area_mm2, old.area_mm2)
    assert np.any(new.latency_s[:, 3] != old.latency_s[:, 3])
    # the explicit default deployment equals the registered model
    r = evaluate(d, stack)
    np.testing.assert_array_equal(r.energy_j, new.energy_j)


# -- residency -------------------------------------------------------------------------------
def test_residency_policies() -> None:
    stack = WorkloadStack.of(load_workloads(["resnet18", "alexnet"]))
    d = _designs(2000, seed=11)
    base = evaluate_physical(d, stack)
    co = map_workloads(d, stack, Deployment(residency="co-resident"))
    per = map_workloads(d, stack, Deployment(residency="per-workload"))
    np.testing.assert_array_equal(per.resident_w, base.weights_resident)
    # co-resident: the union must fit, so never more resident, and the same for every workload
    assert np.all(co.resident_w <= base.weights_resident)
    assert np.all(co.resident_w[:, 0] == co.resident_w[:, 1])
    assert np.all(co.copies_w <= per.copies_w)
    # per-workload pays for switches, less the more requests run between them
    costs = [evaluate_physical(d, stack, deployment=Deployment(
        residency="per-workload", requests_between_switches=n)) for n in (1, 100, 1e16)]
    res = base.weights_resident
    assert np.all(costs[0].energy_j[res] > costs[1].energy_j[res])
    assert np.all(costs[1].energy_j[res] > base.energy_j[res])
    assert np.all(costs[0].latency_s[res] > costs[1].latency_s[res])
    np.testing.assert_allclose(costs[2].energy_j, base.energy_j, rtol=1e-9)  # 1e16: negligible
    np.testing.assert_allclose(costs[2].latency_s, base.latency_s, rtol=1e-9)
    # a one-workload set never switches
    one = WorkloadStack.of(load_workloads("resnet18"))
    a = evaluate_physical(d, one)
    b = evaluate_physical(d, one, deployment=Deployment(residency="per-workload",
                                                        requests_between_switches=1))
    np.testing.assert_array_equal(a.energy_j, b.energy_j)


def test_per_workload_feasibility_reported_on_rram_paper() -> None:
    space = SearchSpace.load("rram-paper")
    ws = load_workloads("paper-4")
    X = space.random(4000, np.random.default_rng(5))
    feas = {}
    for policy in ("all-resident", "co-resident", "per-workload"):
        p = JointIMCProblem(space, ws, ObjectiveConfig(deployment={"residency": policy}))
        feas[policy] = p.evaluate_batch(X)["feasible"]
    old = JointIMCProblem(space, ws, ObjectiveConfig(deployment={"packing": "one-per-group"}))
    feas["old"] = old.evaluate_batch(X)["feasible"]
    np.testing.assert_array_equal(feas["per-workload"], feas["all-resident"])
    assert np.all(feas["co-resident"] <= feas["all-resident"])
    assert np.all(feas["old"] <= feas["all-resident"])
    assert feas["all-resident"].mean() > 1.5 * feas["old"].mean()   # packing: mobilenet_v3


def test_lifetime() -> None:
    life = lifetime_inferences(np.array([100.0, 300.0]), np.array([True, False]),
                               "per-workload", endurance_cycles=1e6)
    assert life[0, 0] == 2e8 and np.isinf(life[1]).all()
    assert np.isinf(lifetime_inferences(np.array([1.0, 1.0]), np.array([True]),
                                        "all-resident")).all()


# -- execution -------------------------------------------------------------------------------
def test_pipelined_batch_one_is_sequential_and_larger_batches_faster() -> None:
    stack = WorkloadStack.of(load_workloads(["resnet18", "vit_b16"]))
    d = _designs(1500, seed=2)
    seq = evaluate_physical(d, stack)
    p1 = evaluate_physical(d, stack, deployment=Deployment(execution="pipelined"))
    np.testing.assert_allclose(p1.latency_s, seq.latency_s, rtol=1e-12)
    p8 = evaluate_physical(d, stack, breakdown=True,
                           deployment=Deployment(execution="pipelined", batch=8))
    res = seq.weights_resident
    assert np.all(p8.latency_s <= seq.latency_s * (1 + 1e-12))
    faster = p8.latency_s[res] < seq.latency_s[res] * (1 - 1e-9)
    assert faster.mean() > 0.5                          # the rest: GLB-bound in every layer
    # not resident: no pipeline (arrays rewritten), but the weight loads are shared by the batch
    assert np.all(p8.latency_s[~res] < seq.latency_s[~res])
    np.testing.assert_allclose(sum(p8.latency_breakdown_s.values()), p8.latency_s, rtol=1e-12)


def test_pipeline_throughput_isaac() -> None:
    """ISAAC (Shafiee et al., ISCA 2016): with a crossbar set per layer, a pipeline of n equal
    stages delivers n x the throughput of running the layers one after another."""
    n = 6
    recs = [_conv(f"l{i}", 64, 64, 3, 8) for i in range(n)]
    stack = WorkloadStack.of([Workload.from_records("equal", recs)])
    d = _designs(200, seed=4, memory="RRAM")
    seq = evaluate_physical(d, stack)
    big = 10_000
    pip = evaluate_physical(d, stack, deployment=Deployment(execution="pipelined", batch=big))
    res = seq.weights_resident[:, 0]
    assert res.sum() > 50
    ratio = seq.latency_s[res, 0] / pip.latency_s[res, 0]
    expected = n * big / (n + big - 1)               # (fill + (B-1) stage) / B, stage = fill/n
    stage_bound = np.isclose(ratio, expected, rtol=1e-9)   # the rest: the shared GLB limits
    assert stage_bound.sum() > 20
    assert np.all(ratio <= expected * (1 + 1e-9)) and np.all(ratio >= 1.0 - 1e-12)


def test_batch_amortises_streamed_weights() -> None:
    stack = WorkloadStack.of(load_workloads("vgg16"))
    d = _designs(1500, seed=9, memory="SRAM")
    one = evaluate_physical(d, stack, breakdown=True)
    b16 = evaluate_physical(d, stack, breakdown=True, deployment=Deployment(batch=16))
    streamed = ~one.weights_resident[:, 0]
    assert streamed.sum() > 100
    np.testing.assert_allclose(b16.energy_breakdown_j["weight_write"][streamed],
                               one.energy_breakdown_j["weight_write"][streamed] / 16, rtol=1e-12)
    assert np.all(b16.latency_breakdown_s["weight_load"][streamed]
                  < one.latency_breakdown_s["weight_load"][streamed])


# -- settings --------------------------------------------------------------------------------
@pytest.mark.parametrize("bad,needle", [
    ({"residency": "sometimes"}, "residency"), ({"batch": 0}, "batch"),
    ({"batch": 1.5}, "batch"), ({"execution": "parallel"}, "execution"),
    ({"requests_between_switches": 0}, "requests_between_switches"),
    ({"requests_between_switches": {"vgg16": -1}}, "requests_between_switches['vgg16']"),
    ({"shuffle": True}, "unknown key"), ("pipelined", "must be a mapping"),
])
def test_bad_settings(bad: object, needle: str) -> None:
    with pytest.raises(ImcoptError, match=None) as exc:
        Deployment.from_dict(bad)  # type: ignore[arg-type]
    assert needle in str(exc.value)


def test_settings_round_trip_and_cimloop_refuses() -> None:
    dep = Deployment.from_dict({"residency": "per-workload", "batch": 4,
                                "requests_between_switches": {"vgg16": 10, "default": 50}})
    assert Deployment.from_dict(dep.to_dict()) == dep
    np.testing.assert_array_equal(dep.requests_per_switch(["vgg16", "alexnet"]), [10, 50])
    cfg = ObjectiveConfig(deployment=dep.to_dict())
    assert ObjectiveConfig.from_dict(cfg.to_dict()) == cfg
    assert "deployment" not in ObjectiveConfig().to_dict()
    space = SearchSpace.load("rram-paper")
    with pytest.raises(ImcoptError, match="physical convention"):
        JointIMCProblem(space, load_workloads("alexnet"), cfg, convention="cimloop")


def test_scenario_deployment_key(tmp_path) -> None:
    from study.config import parse_study

    def study(dep: object, convention: str = "physical") -> dict:
        return {"name": "s", "output": str(tmp_path / "o"), "convention": convention,
                "scenarios": [{"name": "a", "space": "rram-paper", "workloads": "alexnet",
                               "deployment": dep}], "algorithms": ["random-search"]}

    cfg = parse_study(study({"residency": "per-workload", "requests_between_switches": 20}))
    sc = cfg.scenarios[0]
    assert sc.deployment["residency"] == "per-workload"
    assert sc.snr_objective_fields()["deployment"] == sc.deployment
    assert parse_study(cfg.to_dict()).scenarios[0].deployment == sc.deployment
    with pytest.raises(ImcoptError) as exc:
        parse_study(study({"residency": "never"}))
    assert "1 problem(s)" in str(exc.value)
    assert "scenario 'a'.deployment residency = 'never'; allowed:" in str(exc.value)
    with pytest.raises(ImcoptError, match="need convention physical"):
        parse_study(study({"execution": "pipelined"}, convention="cimloop"))
    assert parse_study(study(None)).scenarios[0].deployment is None


@pytest.mark.parametrize("packing", ["block-diagonal", "one-per-group"])
def test_batch_tiling_shared_by_blocks_is_the_blocks_own(packing: str) -> None:
    """A block mapped with its batch's tiling (`tile_keys`, as evaluate_physical does for
    large batches) gets the mapping it would compute alone, bit for bit; a tiling that lacks a
    design's key, or was packed otherwise, is refused."""
    stack = WorkloadStack.of(load_workloads("paper-9"))
    batch = _designs(400, seed=4)
    dep = Deployment(packing=packing)
    tiling = tile_keys(batch, stack, packing)
    block = batch.take(slice(150, 230))
    alone, shared = map_workloads(block, stack, dep), map_workloads(block, stack, dep, tiling)
    for f in ("arrays_w", "resident_w", "copies_w", "copies_layer", "big", "passes_big"):
        np.testing.assert_array_equal(getattr(shared, f), getattr(alone, f), err_msg=f)
    for f in ("arrays", "read_factor", "cells_allocated"):
        np.testing.assert_array_equal(getattr(shared.tiling, f)[shared.key],
                                      getattr(alone.tiling, f)[alone.key], err_msg=f)
    a = workload_counts(block, stack, dep)
    b = workload_counts(block, stack, dep, tiling=tiling)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with pytest.raises(ValueError, match="not in this tiling"):
        map_workloads(batch, stack, dep, tile_keys(block, stack, packing))
    other = "one-per-group" if packing == "block-diagonal" else "block-diagonal"
    with pytest.raises(ValueError, match="packed"):
        map_workloads(block, stack, Deployment(packing=other), tiling)
    with pytest.raises(ValueError, match="another workload stack"):
        map_workloads(block, WorkloadStack.of(load_workloads("paper-4")), dep, tiling)
    # the per-key counts the first block derives are reused by the next, unchanged
    assert "key_counts" in tiling.derived
    again = workload_counts(block, stack, dep, tiling=tiling)
    for k in a:
        np.testing.assert_array_equal(a[k], again[k], err_msg=k)

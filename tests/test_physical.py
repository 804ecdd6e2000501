"""The ``physical`` convention: monotonicity, published component ranges, macro landing zones
(MACROS.md §3), vectorization, breakdowns and input errors."""

from __future__ import annotations

import numpy as np
import pytest

from problems.errors import ImcoptError
from problems.hardware import components as comp
from problems.hardware import physical
from problems.hardware.cost import evaluate
from problems.hardware.design import DesignBatch
from problems.hardware.physical import (
    AREA_KEYS,
    ENERGY_KEYS,
    LATENCY_KEYS,
    evaluate_physical,
    macro_figures,
    workload_counts,
)
from problems.hardware.technology import area_scale, delay_scale, energy_scale
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack


def _conv(name, C, M, R, P, stride=1, G=1, dynamic=False):
    return {"layer": name, "C": C, "M": M, "R": R, "S": R, "P": P, "Q": P, "G": G,
            "h_stride": stride, "w_stride": stride, "dynamic": dynamic}


@pytest.fixture(scope="module")
def stack() -> WorkloadStack:
    cnn = Workload.from_records("cnn", [
        _conv("c1", 3, 32, 3, 32), _conv("c2", 32, 64, 3, 16, stride=2),
        _conv("dw", 1, 1, 3, 16, G=64), _conv("pw", 64, 128, 1, 16), _conv("fc", 2048, 10, 1, 1),
    ])
    mlp = Workload.from_records("mlp", [_conv("l1", 784, 256, 1, 1), _conv("l2", 256, 10, 1, 1)])
    attn = Workload.from_records("attn", [
        _conv("proj", 64, 64, 1, 16), _conv("qk", 64, 16, 1, 16, dynamic=True),
    ])
    return WorkloadStack.of([cnn, mlp, attn])


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
        tiles_per_group=rng.choice([1, 2, 4, 8], n), macros_per_tile=rng.choice([2, 4, 8, 16], n),
        glb_bytes=rng.choice([2**11, 2**16, 2**20, 2**23], n))
    # at most one ADC per column (a DesignBatch rule)
    p["adcs_per_macro"] = np.minimum(p["adcs_per_macro"], p["xbar_cols"])
    return DesignBatch.from_dict(p)


def _one(**kw) -> DesignBatch:
    base = dict(memory="RRAM", technology_nm=32, voltage_v=0.7, bits_per_cell=2,
                cycle_time_s=2e-9, xbar_rows=128, xbar_cols=128, adc_bits=5, adcs_per_macro=16,
                router_groups=2, tiles_per_group=4, macros_per_tile=16, glb_bytes=2**20)
    base.update(kw)
    return DesignBatch.from_dict(base)


def _sweep(param: str, values, **kw) -> DesignBatch:
    return DesignBatch.from_records([{**_one(**kw).to_records()[0], param: v} for v in values])


# ---- technology and components ----------------------------------------------------------------
def test_technology_factors_are_one_at_32nm_and_monotone():
    nodes = np.array([7, 10, 14, 16, 20, 22, 28, 32, 45, 65])
    assert area_scale(32) == pytest.approx(1.0)
    assert energy_scale(32, 0.8, 0.8) == pytest.approx(1.0)
    assert delay_scale(32, 0.9, 0.9) == pytest.approx(1.0)
    assert np.all(np.diff(area_scale(nodes)) > 0)
    assert np.all(np.diff(energy_scale(nodes, 0.8, 0.8)) > 0)
    assert np.all(np.diff(delay_scale(nodes, 0.9)) > 0)
    # S&B area 32 -> 7 nm: 0.13; alpha-power law: lower supply is slower
    assert area_scale(7) == pytest.approx(0.13)
    assert 1.5 < delay_scale(32, 0.5) / delay_scale(32, 0.9) < 3


def test_adc_energy_inside_survey_band():
    # hwcomponents-adc survey fit (CIMLOOP_MODEL §5D): 0.749 pJ at 5 b, 32 nm, 1 GS/s
    assert comp.adc_energy_j(5, 32) == pytest.approx(0.749e-12, rel=0.01)
    assert comp.adc_energy_j(8, 32) == pytest.approx(1.371e-12, rel=0.01)
    assert comp.adc_energy_j(5, 22) == pytest.approx(0.370e-12, rel=0.05)
    assert comp.adc_energy_j(5, 45) == pytest.approx(1.42e-12, rel=0.05)
    # published band at 5 b / 32 nm: NeuroSim sense amp ~0.1 pJ ... ISAAC SAR ~0.99 pJ
    assert 0.1e-12 <= comp.adc_energy_j(5, 32) <= 1.0e-12
    e = comp.adc_energy_j(np.arange(1, 13), 32)
    assert np.all(np.diff(e) >= 0) and e[-1] > 4 * e[4]
    # above the nominal rate the power-limited regime costs more per conversion
    assert comp.adc_energy_j(5, 32, 4e9) > 3 * comp.adc_energy_j(5, 32, 1e9)
    assert comp.adc_energy_j(5, 32, 1e8) == pytest.approx(comp.adc_energy_j(5, 32))
    # area: survey 4,964-5,972 um^2 at 32 nm; ISAAC-style SAR is smaller, NeuroSim column ADC 801
    assert 4.9e-3 <= comp.adc_area_mm2(4, 32) <= comp.adc_area_mm2(8, 32) <= 6.0e-3
    assert comp.adc_conversion_time_s(32) == pytest.approx(1e-9)


def test_dram_router_buffer_cell_figures():
    assert 4e-12 <= comp.dram_energy_per_bit_j() <= 10e-12        # LPDDR4 4-10 pJ/bit
    assert comp.dram_bandwidth_bits_per_s() == 12.8e9 * 8
    # ISAAC router: 10.37 pJ / 128 b at 32 nm; 9.25 pJ / 256 b at 22 nm (CIMLOOP_MODEL §5D)
    assert 128 * comp.router_energy_per_bit_j(32, 0.9) == pytest.approx(10.37e-12)
    assert 256 * comp.router_energy_per_bit_j(22, 0.9) == pytest.approx(9.25e-12, rel=0.15)
    assert comp.router_area_mm2(32) == pytest.approx(0.01875)
    # CACTI 32 nm: 2 MB GLB read 1,024 pJ per 2048 b, area 4.72 mm^2 (factor 2)
    glb = 2 * 2**20 * 8
    e = 2048 * comp.buffer_read_energy_per_bit_j(glb, 32, 0.9)
    assert 0.5e-9 < e < 2e-9
    assert 2.4 < comp.buffer_area_mm2(glb, 32) < 9.5
    # NeuroSim cells: 48 F^2 = 0.04915 um^2 and 280 F^2 = 0.2867 um^2 at 32 nm
    assert comp.cell_area_mm2(0, 32) * 1e6 == pytest.approx(0.04915, rel=1e-3)
    assert comp.cell_area_mm2(1, 32) * 1e6 == pytest.approx(0.2867, rel=1e-3)
    # 1T1R read at 0.5 V, 10 ns: E_on 12.4 fJ, E_off 2.28 fJ; mean over input/weight bits
    assert comp.rram_cell_read_energy_j(10e-9) == pytest.approx(0.25 * (12.4 + 2.28) * 1e-15,
                                                                rel=0.02)
    # RRAM programming is orders of magnitude costlier and slower than an SRAM write
    assert comp.rram_program_energy_j(1) > 100 * comp.sram_write_energy_per_bit_j(128, 32, 0.7)
    assert comp.rram_program_row_time_s(2) > 50 * comp.sram_write_row_time_s(32, 0.7)


# ---- macro anchors (MACROS.md §3) ---------------------------------------------------------------
def test_rram_macro_in_landing_zone():
    """NeuroSim-like 128x128 1T1R macro, 1 b/cell, 8 columns per 5-b ADC, 8b x 8b."""
    d = DesignBatch.from_dict(dict(memory="RRAM", technology_nm=[22, 32], voltage_v=0.7,
                                   bits_per_cell=1, cycle_time_s=2e-9, xbar_rows=128,
                                   xbar_cols=128, adc_bits=5, adcs_per_macro=16))
    f = macro_figures(d)
    # §3(a) at 22 nm: 5-30 TOPS/W, 0.1-2 TOPS/mm^2 at macro level
    assert 5 <= f["tops_per_w"][0] <= 30
    assert 0.1 <= f["tops_per_mm2"][0] <= 2
    # at 32 nm the survey ADC (0.75 pJ, 0.5 conversion per MAC) bounds it: §3(a) "≈4-40 TOPS/W"
    assert 4 <= f["tops_per_w"][1] <= 40 and f["tops_per_w"][1] < f["tops_per_w"][0]
    assert 0.1 <= f["tops_per_mm2"][1] <= 2
    # bit-serial MVM: between 10 ns (bit-parallel 22 nm macros) and 2.55 us (255 pulses x 10 ns)
    assert np.all((f["mvm_latency_s"] >= 10e-9) & (f["mvm_latency_s"] <= 2.55e-6))
    assert f["macs_per_mvm"][0] == 128 * 16


def test_sram_macro_in_landing_zone():
    """512x128 analog SRAM macro (JSSC 2023-like), 16 5-b ADCs, 8b x 8b, 28 nm and 22 nm."""
    d = DesignBatch.from_dict(dict(memory="SRAM", technology_nm=[22, 28], voltage_v=0.9,
                                   bits_per_cell=1, cycle_time_s=2e-9, xbar_rows=512,
                                   xbar_cols=128, adc_bits=5, adcs_per_macro=16))
    f = macro_figures(d)
    # §3(b) 22-32 nm: 10-40 TOPS/W, 0.2-5 TOPS/mm^2 (22 nm slightly above 5: allow 7)
    assert np.all((f["tops_per_w"] >= 10) & (f["tops_per_w"] <= 40))
    assert 0.2 <= f["tops_per_mm2"][1] <= 5 and f["tops_per_mm2"][0] <= 7


def test_sram_macros_at_65_and_7_nm_against_measured_silicon():
    """MACROS.md #11 (Jia, 65 nm, 768x768, 8-b SAR): zone 2-15 TOPS/W, 0.005-1 TOPS/mm^2;
    #10 (Sinangil, 7 nm, 64x64, 4b x 4b, 0.65-1.0 V): 262-611 TOPS/W measured, 5.5 ns per MVM."""
    jia = DesignBatch.from_dict(dict(memory="SRAM", technology_nm=65, voltage_v=[0.85, 1.2],
                                     bits_per_cell=1, cycle_time_s=25e-9, xbar_rows=768,
                                     xbar_cols=768, adc_bits=8, adcs_per_macro=256))
    f = macro_figures(jia)
    assert np.all((f["tops_per_w"] >= 2) & (f["tops_per_w"] <= 15))
    assert np.all((f["tops_per_mm2"] >= 0.005) & (f["tops_per_mm2"] <= 1))
    sin = DesignBatch.from_dict(dict(memory="SRAM", technology_nm=7, voltage_v=[0.65, 0.8, 1.0],
                                     bits_per_cell=1, cycle_time_s=1e-9, xbar_rows=64,
                                     xbar_cols=64, adc_bits=4, adcs_per_macro=16))
    f = macro_figures(sin, input_bits=4, weight_bits=4)
    # within a factor 5 of the measured 262-611 TOPS/W (our survey ADC and periphery are
    # generic, the macro's are custom), and lower supply -> more efficient
    assert np.all((f["tops_per_w"] >= 262 / 5) & (f["tops_per_w"] <= 611 * 1.5))
    assert np.all(np.diff(f["tops_per_w"]) < 0)


# ---- monotonicity -----------------------------------------------------------------------------
def test_larger_node_larger_area(stack):
    r = evaluate_physical(_sweep("technology_nm", [7, 14, 22, 32, 45, 65]), stack)
    assert np.all(np.diff(r.area_mm2) > 0)


def test_higher_voltage_more_energy(stack):
    for mem in ("RRAM", "SRAM"):
        r = evaluate_physical(_sweep("voltage_v", [0.5, 0.6, 0.7, 0.85], memory=mem), stack)
        assert np.all(np.diff(r.energy_j, axis=0) > 0)
        assert np.all(np.diff(r.latency_s, axis=0) <= 0)   # and a faster periphery


def test_more_bits_per_cell_fewer_columns(stack):
    d = _sweep("bits_per_cell", [1, 2, 4, 8])
    n = workload_counts(d, stack)
    assert np.all(np.diff(n["conversions"], axis=0) < 0)
    assert np.all(np.diff(n["arrays_needed"], axis=0) <= 0)
    assert np.all(np.diff(n["cell_reads"], axis=0) < 0)


def test_more_adcs_lower_latency_more_area(stack):
    # 1 ns cycle and 256 columns: the shared ADCs set the bit-step time
    d = _sweep("adcs_per_macro", [4, 16, 64], cycle_time_s=1e-9, xbar_cols=256)
    r = evaluate_physical(d, stack)
    assert np.all(np.diff(r.latency_s, axis=0) < 0)
    assert np.all(np.diff(r.area_mm2) > 0)


def test_bigger_glb_more_area(stack):
    r = evaluate_physical(_sweep("glb_bytes", [2**16, 2**20, 2**24]), stack)
    assert np.all(np.diff(r.area_mm2) > 0)


# ---- residency, weight loading ------------------------------------------------------------------
def test_residency_and_weight_loading(stack):
    small = dict(router_groups=1, tiles_per_group=1, macros_per_tile=2)
    d = DesignBatch.from_records([_one(memory=m, **s).to_records()[0]
                                  for m in ("RRAM", "SRAM") for s in ({}, small)])
    r = evaluate_physical(d, stack, breakdown=True)
    e, lat = r.energy_breakdown_j, r.latency_breakdown_s
    big_rram, small_rram, big_sram, small_sram = range(4)
    assert r.weights_resident[big_rram].all() and r.weights_resident[big_sram].all()
    assert not r.weights_resident[small_rram, 0] and not r.weights_resident[small_sram, 0]
    assert r.valid.all() and np.isfinite(r.energy_j).all() and np.isfinite(r.latency_s).all()
    # resident weights: no per-inference load, except the dynamic (attention) layer
    assert e["weight_write"][big_rram, :2].sum() == 0 and e["dram"][big_sram].sum() == 0
    assert e["weight_write"][big_rram, 2] > 0 and lat["weight_load"][big_rram, 2] > 0
    # not resident: RRAM reprograms, SRAM streams from DRAM
    assert e["weight_write"][small_rram, 0] > 0 and e["dram"][small_rram, 0] == 0
    assert e["dram"][small_sram, 0] > 0 and lat["weight_load"][small_sram, 0] > 0
    # RRAM programming is slower than streaming + writing SRAM
    assert lat["weight_load"][small_rram, 0] > lat["weight_load"][small_sram, 0]


def test_replication_speeds_up_resident_layers(stack):
    d = _sweep("macros_per_tile", [16, 64, 256])
    r = evaluate_physical(d, stack)
    assert np.all(np.diff(r.latency_s[:, 0]) < 0)


def test_utilisation_bounds(stack):
    r = evaluate_physical(_designs(60, seed=3), stack)
    assert np.all((r.utilisation >= 0) & (r.utilisation <= 1))
    assert np.any(r.utilisation > 0)


# ---- vectorization and breakdowns ---------------------------------------------------------------
def test_vectorized_equals_row_by_row(stack, monkeypatch):
    d = _designs(40, seed=1)
    monkeypatch.setattr(physical, "BLOCK_ELEMENTS", 7 * stack.n_layers)  # several blocks
    r = evaluate_physical(d, stack, breakdown=True)
    for i in range(len(d)):
        ri = evaluate_physical(d.take(i), stack)
        np.testing.assert_allclose(r.energy_j[i], ri.energy_j[0], rtol=1e-12)
        np.testing.assert_allclose(r.latency_s[i], ri.latency_s[0], rtol=1e-12)
        np.testing.assert_allclose(r.area_mm2[i], ri.area_mm2[0], rtol=1e-12)
        np.testing.assert_allclose(r.utilisation[i], ri.utilisation[0], rtol=1e-12)
        assert (r.weights_resident[i] == ri.weights_resident[0]).all()


def test_breakdowns_sum_to_totals(stack):
    r = evaluate(_designs(50, seed=2), stack, convention="physical", breakdown=True)
    assert r.convention == "physical"
    assert set(r.energy_breakdown_j) == set(ENERGY_KEYS)
    assert set(r.area_breakdown_mm2) == set(AREA_KEYS)
    assert set(r.latency_breakdown_s) == set(LATENCY_KEYS)
    np.testing.assert_allclose(sum(r.energy_breakdown_j.values()), r.energy_j, rtol=1e-12)
    np.testing.assert_allclose(sum(r.area_breakdown_mm2.values()), r.area_mm2, rtol=1e-12)
    np.testing.assert_allclose(sum(r.latency_breakdown_s.values()), r.latency_s, rtol=1e-12)
    for part in (*r.energy_breakdown_j.values(), *r.latency_breakdown_s.values()):
        assert np.all(part >= 0)
    assert np.all(r.energy_breakdown_j["adc"] > 0) and np.all(r.area_breakdown_mm2["adc"] > 0)


# ---- bad inputs -------------------------------------------------------------------------------
def test_bad_inputs_name_the_parameter(stack):
    with pytest.raises(ImcoptError, match="technology_nm"):
        _one(technology_nm=5)
    with pytest.raises(ImcoptError, match=r"technology_nm.*\[7, 65\]"):
        area_scale(5)
    with pytest.raises(ImcoptError, match="xbar_rows"):
        _one(xbar_rows=0)
    with pytest.raises(ImcoptError, match="memory"):
        _one(memory="FLASH")
    low_bits = WorkloadStack.of(Workload.from_records(
        "w4", [{**_conv("l", 16, 16, 1, 2), "weight_bits": 4}]))
    with pytest.raises(ImcoptError, match=r"bits_per_cell.*\[1, 4\]"):
        evaluate_physical(_one(bits_per_cell=8), low_bits)
    with pytest.raises(ImcoptError, match="capacity_bits"):
        comp.buffer_area_mm2(0, 32)
    with pytest.raises(ImcoptError, match="adc_bits"):
        comp.adc_energy_j(0, 32)
    with pytest.raises(ImcoptError, match="voltage_v"):
        energy_scale(32, 2.0, 0.9)


def test_small_glb_spills_activations_to_dram(stack):
    # cnn layer c1: input 34x34x3 + output 32x32x32 at 8 b = 290 kbit > a 16 kB GLB
    r = evaluate_physical(_sweep("glb_bytes", [2**11, 2**14, 2**20]), stack, breakdown=True)
    dram = r.energy_breakdown_j["dram"][:, 0]
    assert dram[0] > dram[1] > 0 and dram[2] == 0
    assert r.latency_s[0, 0] > r.latency_s[2, 0]


def test_chip_level_efficiency_on_zoo_cnns():
    """Whole-chip TOPS/W on real CNNs (resident RRAM, 32 nm) inside MACROS.md §3(a)'s chip-level
    band of 1-25 TOPS/W, and below the macro-level figure (buffers, GLB, routers, psums)."""
    from problems.workloads.zoo import get_workload

    ws = [get_workload(n) for n in ("resnet18", "mobilenet_v3")]
    d = _one(bits_per_cell=2, router_groups=8, tiles_per_group=16, macros_per_tile=64,
             glb_bytes=8 * 2**20)
    r = evaluate_physical(d, WorkloadStack.of(ws))
    assert r.weights_resident.all()
    tops_w = 2 * np.array([w.total_macs for w in ws]) / r.energy_j[0] / 1e12
    assert np.all((tops_w >= 1) & (tops_w <= 25))
    assert np.all(tops_w < macro_figures(d)["tops_per_w"][0])

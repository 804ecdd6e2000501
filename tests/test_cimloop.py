"""The cimloop accounting convention: packing, cycles, area, energy, validation CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from problems.errors import ImcoptError
from problems.hardware import calibration as calib
from problems.hardware import cimloop_data
from problems.hardware import validation as val
from problems.hardware.cimloop import evaluate_cimloop
from problems.hardware.cimloop_area import area_components_mm2
from problems.hardware.cimloop_data import CALIBRATION_FILE, load_calibration
from problems.hardware.cost import evaluate
from problems.hardware.design import DesignBatch
from problems.hardware.model import data_file
from problems.hardware.packing import DIMS, PackingCache, greedy_allocate, pack, pack_one
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

LAYER_KEYS = ("N", "C", "M", "R", "S", "P", "Q", "G")


# -- packing rule (CIMLOOP_MODEL.md §3.1 test vectors) ------------------------------------------
@pytest.mark.parametrize("sizes, cap, factors, left", [
    ({"C": 64, "R": 3, "S": 3}, 128, {"C": 14, "R": 3, "S": 3}, {"C": 5, "R": 1, "S": 1}),
    ({"C": 3, "R": 7, "S": 7}, 128, {"C": 3, "R": 7, "S": 4}, {"C": 1, "R": 1, "S": 2}),
    ({"C": 147}, 128, {"C": 74}, {"C": 2}),
    ({"C": 1000}, 512, {"C": 504}, {"C": 2}),
    ({"C": 64}, 128, {"C": 64}, {"C": 1}),          # fits: all of it
    ({"C": 5, "M": 7}, 1, {"C": 1, "M": 1}, {"C": 5, "M": 7}),  # no capacity
])
def test_greedy_allocate_vectors(sizes, cap, factors, left):
    got_f, got_l = greedy_allocate(sizes, cap)
    assert got_f == factors
    assert got_l == left
    assert np.prod(list(got_f.values())) <= cap


def test_greedy_allocate_rejects_bad_input():
    with pytest.raises(ImcoptError, match="capacity"):
        greedy_allocate({"C": 4}, 0)
    with pytest.raises(ImcoptError, match="positive"):
        greedy_allocate({"C": 0}, 8)


def _random_layers(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    pick = lambda vals: rng.choice(np.array(vals), n)  # noqa: E731
    return {"N": np.ones(n, int), "C": pick([1, 3, 16, 64, 96, 147, 512, 1000]),
            "M": pick([1, 10, 24, 64, 100, 256, 1000]), "R": pick([1, 3, 5, 7, 11]),
            "S": pick([1, 3, 5, 7]), "P": pick([1, 7, 13, 28, 55, 112]),
            "Q": pick([1, 7, 13, 28, 56]), "G": pick([1, 1, 1, 16, 72])}


def test_vectorized_packing_equals_scalar_reference():
    rng = np.random.default_rng(1)
    layers = _random_layers(rng, 12)
    n_d = 25
    d = {"is_sram": rng.random(n_d) < 0.5, "bits_per_cell": rng.integers(1, 9, n_d),
         "xbar_rows": rng.choice([16, 32, 128, 512], n_d),
         "xbar_cols": rng.choice([16, 64, 256], n_d),
         "macros_per_tile": rng.choice([2, 4, 12, 64], n_d),
         "tiles_per_group": rng.choice([2, 8, 64], n_d),
         "router_groups": rng.choice([1, 6, 32], n_d)}
    pk = pack(layers, cache=PackingCache(), **d)
    for i in range(n_d):
        for j in range(12):
            one = pack_one({k: int(v[j]) for k, v in layers.items()},
                           "SRAM" if d["is_sram"][i] else "RRAM", int(d["bits_per_cell"][i]),
                           int(d["xbar_rows"][i]), int(d["xbar_cols"][i]),
                           int(d["macros_per_tile"][i]), int(d["tiles_per_group"][i]),
                           int(d["router_groups"][i]))
            assert one["cycles"] == pk.cycles[i, j]
            assert one["weights_placed"] == pk.weights_placed[i, j]
            assert [one["left"][k] for k in DIMS] == pk.left[i, j].tolist()
            assert one["row"]["C"] == pk.factor("row", "C")[i, j]
    # a warm cache gives the identical answer
    pk2 = pack(layers, **d)
    pk3 = pack(layers, **d)
    assert np.array_equal(pk2.cycles, pk3.cycles)
    assert np.array_equal(pk2.cycles, pk.cycles)


def test_sram_removes_q_and_rram_invalid_when_weights_do_not_fit():
    layers = {"N": [1], "C": [512], "M": [512], "R": [3], "S": [3], "P": [14], "Q": [14],
              "G": [1]}
    small = dict(bits_per_cell=np.array([1, 1]), xbar_rows=np.array([64, 64]),
                 xbar_cols=np.array([64, 64]), macros_per_tile=np.array([2, 2]),
                 tiles_per_group=np.array([2, 2]), router_groups=np.array([1, 1]))
    pk = pack(layers, is_sram=np.array([False, True]), **small)
    assert not pk.weights_placed[0, 0]          # RRAM cannot hold 2.4 M weight cells
    assert pk.leftover("Q")[1, 0] == 1           # SRAM: all of Q is temporal at the GLB
    assert pk.cycles[1, 0] % 14 == 0 and pk.cycles[1, 0] > 14
    wl = Workload.from_records("big", [{k: v[0] for k, v in layers.items()}])
    d = DesignBatch.from_dict({"memory": ["RRAM", "SRAM"], "xbar_rows": 64, "xbar_cols": 64,
                               "macros_per_tile": 2, "tiles_per_group": 2,
                               "router_groups": 1, "bits_per_cell": 1})
    res = evaluate(d, wl, convention="cimloop")
    assert res.convention == "cimloop"
    assert not res.valid[0, 0] and np.isinf(res.energy_j[0, 0]) and np.isinf(res.latency_s[0, 0])
    assert res.valid[1, 0] and np.isfinite(res.energy_j[1, 0])


def test_breakdowns_sum_to_totals_and_batch_equals_rows():
    rng = np.random.default_rng(3)
    wls = [Workload.from_records(f"w{i}", [
        {k: int(v[j]) for k, v in _random_layers(rng, 6).items()} | {"layer": j}
        for j in range(6)]) for i in range(2)]
    n = 30
    d = DesignBatch.from_dict({
        "memory": rng.choice(["RRAM", "SRAM"], n), "voltage_v": rng.choice([0.5, 0.6, 0.85], n),
        "bits_per_cell": rng.integers(1, 9, n), "xbar_rows": rng.choice([128, 256, 512], n),
        "xbar_cols": rng.choice([64, 128, 256], n), "macros_per_tile": rng.choice([16, 64], n),
        "tiles_per_group": rng.choice([16, 64], n), "router_groups": rng.choice([8, 32], n),
        "glb_bytes": rng.choice([2**20, 2**24], n), "cycle_time_s": 2e-9})
    stack = WorkloadStack.of(wls)
    res = evaluate_cimloop(d, stack, breakdown=True)
    assert res.energy_j.shape == (n, 2)
    ok = res.valid
    assert ok.any() and (~ok).any() or ok.all()
    tot = sum(res.energy_breakdown_j.values())
    np.testing.assert_allclose(tot[ok], res.energy_j[ok], rtol=1e-12)
    np.testing.assert_allclose(sum(res.area_breakdown_mm2.values()), res.area_mm2, rtol=1e-12)
    assert np.all(res.area_mm2 > 0) and np.all(res.energy_j[ok] > 0)
    assert set(res.energy_breakdown_j) >= {"cell_read", "adc", "row_drivers", "glb"}
    for i in (0, 7, 19):
        one = evaluate_cimloop(d.take(i), stack)
        np.testing.assert_allclose(one.energy_j[0], res.energy_j[i], rtol=1e-12)
        np.testing.assert_allclose(one.latency_s[0], res.latency_s[i], rtol=1e-12)
        assert one.area_mm2[0] == pytest.approx(res.area_mm2[i], rel=1e-12)


def test_voltage_and_slices_move_energy_the_documented_way():
    wl = Workload.from_records("conv", [{"C": 64, "M": 64, "R": 3, "S": 3, "P": 28, "Q": 28}])
    d = DesignBatch.from_dict({"memory": "RRAM", "bits_per_cell": [1, 2, 8, 1],
                               "voltage_v": [0.7, 0.7, 0.7, 0.85]})
    e = evaluate_cimloop(d, WorkloadStack.of(wl)).energy_j[:, 0]
    assert e[0] > e[1] > e[2]          # RRAM energy ~ weight slices (CM §6.7)
    assert e[3] > e[0]                 # row drivers grow with voltage
    d2 = DesignBatch.from_dict({"memory": "RRAM", "adc_bits": [5, 8], "adcs_per_macro": [16, 1]})
    r2 = evaluate_cimloop(d2, WorkloadStack.of(wl), breakdown=True)
    assert r2.area_breakdown_mm2["adc"][1] > 10 * r2.area_breakdown_mm2["adc"][0]
    assert r2.energy_breakdown_j["adc"][1, 0] > 7 * r2.energy_breakdown_j["adc"][0, 0]


def test_fitted_multipliers_reach_the_energies():
    """The built-in calibration's traffic multipliers scale exactly their components."""
    wl = Workload.from_records("conv", [{"C": 64, "M": 64, "R": 3, "S": 3, "P": 28, "Q": 28}])
    d = DesignBatch.from_dict({"memory": ["RRAM", "SRAM"], "technology_nm": 32.0})
    stack = WorkloadStack.of(wl)
    cal = load_calibration()
    coefs = cal["energy"]["coefficients"]
    fitted = evaluate_cimloop(d, stack, breakdown=True).energy_breakdown_j
    plain = evaluate_cimloop(d, stack, breakdown=True,
                             calibration={"area": cal["area"]}).energy_breakdown_j
    for comp, feature in (("output_buffer", "output_buffer"), ("input_buffer", "input_buffer"),
                          ("router", "router"), ("leakage", "leakage")):
        np.testing.assert_allclose(fitted[comp] / plain[comp], coefs[feature], rtol=1e-12)
    np.testing.assert_allclose(fitted["cell_read"][0], plain["cell_read"][0], rtol=1e-12)


def test_missing_data_file_is_an_error(tmp_path, monkeypatch):
    """A broken installation without the data files fails loudly (no silent fallback)."""
    from problems.hardware import model
    from problems.workloads.zoo import get_workload

    (tmp_path / "data").mkdir()
    monkeypatch.setattr(model, "hardware_root", lambda: tmp_path)
    cimloop_data._load_calibration.cache_clear()
    cimloop_data._average_input_table.cache_clear()
    try:
        with pytest.raises(ImcoptError, match="cimloop_calibration.json is missing"):
            load_calibration()
        stack = WorkloadStack.of(get_workload("alexnet"))
        with pytest.raises(ImcoptError, match="cimloop_average_inputs.csv is missing"):
            cimloop_data.average_input_values(stack)
    finally:
        cimloop_data._load_calibration.cache_clear()
        cimloop_data._average_input_table.cache_clear()


def _layer(**kw):
    return {"layer": "l0", "C": 64, "M": 64, "R": 3, "S": 3, "P": 8, "Q": 8} | kw


@pytest.mark.parametrize("layer, match", [
    (_layer(weight_bits=4), "layer 'l0' has weight_bits = 4"),
    (_layer(input_bits=4), "layer 'l0' has input_bits = 4"),
    (_layer(output_bits=16), "layer 'l0' has output_bits = 16"),
])
def test_cimloop_refuses_what_it_cannot_model(layer, match):
    """CiMLoop's runs are 8-bit: 4-bit layers would silently get the 8-bit energy, so the
    convention rejects them, naming the layer and the parameter."""
    ok = Workload.from_records("ok", [_layer()])
    bad = Workload.from_records("bad", [_layer(layer="l0") | {"layer": "l9"}, layer])
    d = DesignBatch.from_dict({"memory": "RRAM"})
    assert evaluate(d, ok, convention="cimloop").valid.all()
    with pytest.raises(ImcoptError, match=match):
        evaluate(d, [ok, bad], convention="cimloop")
    physical = evaluate(d, [ok, bad], convention="physical")      # the other one models it
    assert np.isfinite(physical.energy_j).all()
    # the problem checks once, at construction, instead of rejecting every design later
    with pytest.raises(ImcoptError, match=match):
        JointIMCProblem(SearchSpace.load("rram-paper"), [ok, bad], convention="cimloop")


def test_cimloop_counts_dynamic_layers_as_weight_layers():
    """CiMLoop ran its transformers' matrix multiplies as conv-like weight layers: under the
    cimloop convention a dynamic (activation x activation) layer costs what the same layer
    with weights costs, while the physical convention writes its operand at run time."""
    dyn = Workload.from_records("w", [_layer(), _layer(layer="att", C=64, M=128, R=1, S=1,
                                                       P=128, Q=1, G=4, dynamic=True)])
    static = Workload.from_records("w", [_layer(), _layer(layer="att", C=64, M=128, R=1, S=1,
                                                          P=128, Q=1, G=4)])
    d = _mixed_batch(np.random.default_rng(3), 60)
    a, b = evaluate(d, dyn, convention="cimloop"), evaluate(d, static, convention="cimloop")
    for field in ("energy_j", "latency_s", "area_mm2", "valid"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    p_dyn = evaluate(d, dyn, convention="physical").energy_j
    p_static = evaluate(d, static, convention="physical").energy_j
    assert not np.array_equal(p_dyn, p_static)


# -- reference data -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ref_eval(reference_dir):
    results = val.load_results(reference_dir / "cimloop_results.csv")
    workloads = val.load_layers(reference_dir / "cimloop_layers.csv")
    model = val.model_for_rows(results, workloads)
    return results, workloads, model


@pytest.mark.reference
def test_cycles_and_utilisation_exact_on_reference(ref_eval):
    results, _, model = ref_eval
    assert model["model_valid"].all()                    # every stored RRAM design fits
    ratio = model["model_latency_s"] / results["latency_s"]
    assert np.abs(ratio - 1).max() < 1e-5                # file has 6 significant digits
    cyc_m = model["model_latency_s"] / results["base_latency_s"]
    cyc_r = results["latency_s"] / results["base_latency_s"]
    small = cyc_r < 1e5                                 # exact where 6 digits resolve it
    assert small.sum() > 10_000
    assert (np.round(cyc_m[small]) == np.round(cyc_r[small])).all()
    du = np.abs(model["model_utilization_pct"] - results["utilization_pct"])
    assert du.max() <= 0.00501


@pytest.mark.reference
def test_area_matches_every_stored_design(ref_eval):
    results, _, model = ref_eval
    err = np.abs(np.log10(model["model_area_mm2"] / results["area_mm2"]))
    at32 = results["technology_nm"] == 32
    assert err[at32].median() <= 1e-5 and err[at32].max() <= 1e-4
    assert err.max() <= 1e-4


@pytest.mark.reference
def test_energy_and_edap_targets_on_reference(ref_eval):
    results, _, model = ref_eval
    groups = {(g["memory"], g["network"]): g for g in val.group_metrics(results, model)}
    assert len(groups) == 11
    for (mem, net), g in groups.items():
        assert g["mae_log10_latency"] < 1e-5, (mem, net)
        assert g["mae_log10_area"] < 1e-5, (mem, net)
        # the targets: rho of log EDAP >= 0.99, median |log10| energy <= 0.04 (+-10 %)
        assert g["rho_edap"] >= 0.99, (mem, net, g["rho_edap"])
        assert g["mae_log10_energy"] <= 0.04, (mem, net, g["mae_log10_energy"])
    for r in val.regret(results, model):
        assert 1.0 <= r["regret"] <= 1.1, r


@pytest.mark.reference
def test_calibration_provenance_matches_the_reference_files(reference_dir):
    """The built-in calibration was fitted on these exact reference files."""
    import hashlib

    prov = json.loads(data_file(CALIBRATION_FILE).read_text())["provenance"]
    for key, name in (("results_sha256", "cimloop_results.csv"),
                      ("layers_sha256", "cimloop_layers.csv")):
        assert prov[key] == hashlib.sha256((reference_dir / name).read_bytes()).hexdigest()


@pytest.mark.reference
def test_calibration_generalises_to_unseen_networks(ref_eval):
    """Leave-one-network-out, re-scored here: each held-out network is evaluated by the model
    with the energy constants fitted WITHOUT it (stored per fold by the fit; re-fitting takes
    ~1-2 min per fold, too slow for the suite) and must meet the targets and beat the
    per-network log-linear regression fitted in-sample on that network itself."""
    results, workloads, _ = ref_eval
    cal = load_calibration()
    folds = cal["provenance"]["energy_held_out_calibration"]
    assert set(folds) == set(results["network"])
    rows = np.arange(len(results))
    base = {(b["memory"], b["network"]): b["rho_edap"]
            for b in calib.baseline_loglinear(results.reset_index(drop=True), rows)}
    assert len(base) == 11
    for net, energy in folds.items():
        held = results[results["network"] == net]
        model = val.model_for_rows(held, workloads, calibration={"area": cal["area"],
                                                                 "energy": energy})
        for g in val.group_metrics(held, model):
            key = (g["memory"], g["network"])
            assert g["rho_edap"] >= 0.99 and g["mae_log10_energy"] <= 0.04, (key, g)
            assert g["rho_edap"] > base[key], (key, g["rho_edap"], base[key])


def test_area_without_calibration_is_close_to_documented():
    d = DesignBatch.from_dict({"memory": "RRAM", "xbar_rows": 128, "xbar_cols": 128})
    parts = area_components_mm2(d, calibration={})
    macro = (parts["adc"] + parts["row_drivers"] + parts["column_drivers"]
             + parts["cells"]) / d.n_macros
    assert macro[0] == pytest.approx(0.1043, rel=0.01)     # CM §3.4: 0.1043 mm^2 per macro
    assert parts["adc"][0] / d.n_macros[0] == pytest.approx(0.1026, rel=0.01)


# -- validate CLI -------------------------------------------------------------------------------
def _subset(reference_dir, tmp_path):
    res = pd.read_csv(reference_dir / "cimloop_results.csv")
    sub = res.groupby(["memory", "network"]).head(6)
    sub = sub[sub["network"].isin(["alexnet", "resnet18"])]
    rpath = tmp_path / "results.csv"
    sub.to_csv(rpath, index=False)
    lay = pd.read_csv(reference_dir / "cimloop_layers.csv")
    lpath = tmp_path / "layers.csv"
    lay[lay["network"].isin(["alexnet", "resnet18"])].to_csv(lpath, index=False)
    return rpath, lpath, lay


@pytest.mark.reference
def test_validate_cli_json_schema(reference_dir, tmp_path):
    from study.cli.main import cli

    rpath, lpath, lay = _subset(reference_dir, tmp_path)
    out = tmp_path / "v.json"
    r = CliRunner().invoke(cli, ["validate", "--reference", str(rpath), "--layers", str(lpath),
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "rho_EDAP" in r.output and "regret" in r.output
    data = json.loads(out.read_text())
    assert set(data) == {"groups", "regret"}
    assert len(data["groups"]) == 4
    for g in data["groups"]:
        assert set(g) == {"memory", "network", "n", "rho_edap", "rho_energy", "rho_latency",
                          "rho_area", "mae_log10_energy", "mae_log10_latency",
                          "mae_log10_area"}
        assert g["n"] == 6 and g["mae_log10_latency"] < 1e-5
    assert all(set(r) == {"memory", "experiment", "regret"} for r in data["regret"])
    assert not list(tmp_path.glob("*.tmp"))
    # unknown network in the layers file -> a clear error naming it
    lay[lay["network"] == "alexnet"].to_csv(lpath, index=False)
    with pytest.raises(ImcoptError, match="resnet18"):
        val.validate(rpath, lpath)


def test_validate_bad_files(tmp_path):
    from study.cli.main import main

    bad = tmp_path / "r.csv"
    bad.write_text("memory,network\nRRAM,alexnet\n")
    lay = tmp_path / "l.csv"
    lay.write_text("network,N,C,M,R,S,P,Q,G\nalexnet,1,3,64,11,11,55,55,1\n")
    with pytest.raises(ImcoptError, match="missing column"):
        val.validate(bad, lay)
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--reference", str(bad), "--layers", str(lay)])
    assert exc.value.code == 2
    lay.write_text("network,N,M,R,S,P,Q,G\nalexnet,1,64,11,11,55,55,1\n")
    with pytest.raises(ImcoptError, match=r"\bC\b"):
        val.load_layers(lay)
    good = tmp_path / "g.csv"
    cols = ",".join(val.RESULT_COLUMNS)
    good.write_text(cols + "\nRRAM,alexnet,32,0.7,1,1e-9,128,128,4,16,16,1048576,-1,1e-6,10\n")
    with pytest.raises(ImcoptError, match="row 2, column energy_j"):
        val.load_results(good)


# -- data-dependent inputs and SRAM weight fills ---------------------------------------------
def test_average_input_value_encoding():
    """CiMLoop offset encoding (CM §4): bin i -> i in n bits, MSB first, padding bits take the
    code's own bit mean; one 8-bit slice."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from cimloop_average_inputs import average_input_value

    zero = np.zeros(31)
    zero[15] = 1.0                      # code 01111, own mean 0.8
    assert average_input_value(zero) == pytest.approx((64 + 32 + 16 + 8 + 0.8 * 7) / 255)
    low = np.zeros(31)
    low[0] = 1.0                        # most negative value: code 00000
    assert average_input_value(low) == 0.0
    top = np.zeros(63)
    top[62] = 1.0                       # code 111110, own mean 5/6
    assert average_input_value(top) == pytest.approx((128 + 64 + 32 + 16 + 8 + 5 / 6 * 3) / 255)
    mix = 0.25 * low + 0.75 * zero
    assert average_input_value(mix) == pytest.approx(0.75 * average_input_value(zero))
    with pytest.raises(ValueError, match="bins"):
        average_input_value(np.ones(30))


def test_average_input_script_reads_cimloop_layer_files(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import cimloop_average_inputs as cai

    net = tmp_path / "wl" / "tiny"
    net.mkdir(parents=True)
    hist = [0.0] * 15 + [1.0] + [0.0] * 15
    for i, inst in enumerate(["{C: 3, M: 8, P: 4, Q: 4, R: 3, S: 3}", "{C: 8, M: 10}"]):
        (net / f"{i:02d}.yaml").write_text(
            "{{include_text('../problem_base.yaml')}}\nproblem:\n  <<<: *problem_base\n"
            f"  instance: {inst}\n  name: L\n  histograms:\n    Inputs: {hist}\n")
    out = tmp_path / "ai.csv"
    assert cai.main([str(tmp_path / "wl"), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["layer"].tolist() == [0, 1] and df["C"].tolist() == [3, 8]
    assert df["R"].tolist() == [3, 1]
    assert np.allclose(df["average_input_value"], 0.492549, atol=1e-6)
    (net / "02.yaml").write_text("problem:\n  instance: {C: 1}\n")
    assert cai.main([str(tmp_path / "wl"), "--out", str(out)]) == 2   # no histograms
    assert len(pd.read_csv(out)) == 2                                   # old table kept


def test_average_inputs_match_by_name_and_shape():
    from problems.hardware.cimloop_components import AVG_INPUT
    from problems.hardware.cimloop_data import average_input_values
    from problems.workloads.zoo import get_workload

    r18 = get_workload("resnet18")
    ai = average_input_values(WorkloadStack.of(r18))
    assert ai.shape == (r18.n_layers,) and np.all((ai > 0.4) & (ai < 0.7))
    assert len(set(np.round(ai, 6))) > 5            # per layer, from the histograms
    fields = {k: getattr(r18, k) for k in ("N", "C", "M", "R", "S", "P", "Q", "G",
                                           "h_stride", "w_stride", "h_dilation",
                                           "w_dilation", "input_bits", "weight_bits",
                                           "output_bits")}
    fields["C"] = fields["C"] + 1                     # same name, other shapes: no histograms
    other = Workload(name="resnet18", layer_names=r18.layer_names, **fields)
    assert np.all(average_input_values(WorkloadStack.of(other)) == AVG_INPUT)


def test_sram_weight_fills_count_every_copy():
    """SRAM spare arrays replicate weights over output positions; each copy is written."""
    from problems.hardware.cimloop_counts import cells_filled

    lay = {"N": [1], "C": [64], "M": [64], "R": [1], "S": [1], "P": [16], "Q": [16], "G": [1]}
    lay = {k: np.array(v) for k, v in lay.items()}
    one = lambda v: np.array([v])  # noqa: E731
    small = pack(lay, one(True), one(1), one(64), one(64), one(8), one(1), one(1))
    big = pack(lay, one(True), one(1), one(64), one(64), one(64), one(1), one(1))
    wbits = 64 * 64 * 8
    assert cells_filled(small)[0, 0] == wbits             # 8 arrays: exactly one copy
    assert cells_filled(big)[0, 0] == 8 * wbits           # 64 arrays: 8 copies over P
    d = DesignBatch.from_dict({"memory": "SRAM", "xbar_rows": 64, "xbar_cols": 64,
                               "macros_per_tile": [8, 64], "tiles_per_group": 1,
                               "router_groups": 1})
    w = Workload(name="fc", layer_names=("l0",), **{k: v for k, v in lay.items()},
                 h_stride=one(1), w_stride=one(1), h_dilation=one(1), w_dilation=one(1),
                 input_bits=one(8), weight_bits=one(8), output_bits=one(8))
    res = evaluate_cimloop(d, WorkloadStack.of(w), breakdown=True)
    cw = res.energy_breakdown_j["cell_write"][:, 0]
    assert cw[1] == pytest.approx(8 * cw[0], rel=1e-9)
    dram = res.energy_breakdown_j["dram"][:, 0]
    assert dram[1] == pytest.approx(dram[0], rel=1e-12)  # fetched once, multicast


def test_validate_with_own_average_input_table(tmp_path, capsys):
    """Users' own CiMLoop networks: `--average-inputs` supplies their per-layer activity."""
    from study.cli.main import main

    lay = tmp_path / "layers.csv"
    lay.write_text("network,layer,N,C,M,R,S,P,Q,G\n"
                   "tiny,0,1,16,32,3,3,8,8,1\ntiny,1,1,32,10,1,1,1,1,1\n")
    res = tmp_path / "results.csv"
    rows = [",".join(val.RESULT_COLUMNS)]
    for v in (0.5, 0.6, 0.7, 0.8):
        rows.append(f"RRAM,tiny,32,{v},1,1e-9,128,128,2,4,4,1048576,{1e-6 * v},1e-8,10")
    res.write_text("\n".join(rows) + "\n")
    ai = tmp_path / "ai.csv"
    ai.write_text("network,layer,C,M,R,S,P,Q,G,average_input_value\n"
                  "tiny,0,16,32,3,3,8,8,1,0.25\ntiny,1,32,10,1,1,1,1,1,0.25\n")
    results = val.load_results(res)
    workloads = val.load_layers(lay)
    base = val.model_for_rows(results, workloads)["model_energy_j"].to_numpy(float)
    low = val.model_for_rows(results, workloads, average_inputs=ai)["model_energy_j"]
    low = low.to_numpy(float)
    # RRAM energy is dominated by cell reads, linear in ai: half the activity, ~half the energy
    assert np.all(low < 0.6 * base) and np.all(low > 0.4 * base)
    out = tmp_path / "v.json"
    main(["validate", "--reference", str(res), "--layers", str(lay),
          "--average-inputs", str(ai), "--json", str(out)])
    assert json.loads(out.read_text())["groups"][0]["network"] == "tiny"
    # bad tables: missing file, missing column, value out of range -> exit 2 naming the problem
    for text, msg in ((None, "does not exist"),
                      ("network,layer,C\ntiny,0,16\n", "missing column"),
                      ("network,layer,C,M,R,S,P,Q,G,average_input_value\n"
                       "tiny,0,16,32,3,3,8,8,1,1.5\n", "row 2")):
        bad = tmp_path / f"bad{len(msg)}.csv"
        if text is not None:
            bad.write_text(text)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["validate", "--reference", str(res), "--layers", str(lay),
                  "--average-inputs", str(bad)])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and msg in err, err


# -- factored evaluation: per-structure counts, memo, integer-keyed lookups ---------------------
def _mixed_batch(rng: np.random.Generator, n: int) -> DesignBatch:
    """Few structures under many voltages / cycle times / buffers / nodes / ADC bits."""
    pick = lambda vals: rng.choice(np.array(vals), n)  # noqa: E731
    return DesignBatch.from_dict({
        "memory": pick(["RRAM", "SRAM"]), "bits_per_cell": pick([1, 2, 8]),
        "xbar_rows": pick([64, 256]), "xbar_cols": pick([64, 128]),
        "macros_per_tile": pick([8, 32]), "tiles_per_group": pick([4, 16]),
        "router_groups": pick([2, 8]), "voltage_v": pick([0.5, 0.62, 0.85]),
        "cycle_time_s": pick([1e-9, 7e-9]), "glb_bytes": pick([2**19, 2**23]),
        "technology_nm": pick([7.0, 22.0, 32.0]), "adc_bits": pick([4, 5, 7])})


def test_structure_counts_memo_and_batches_agree():
    """Counts are computed once per structure and memoized: a memoized batch, the same batch
    without memo and every design alone give the same numbers."""
    from problems.hardware.cimloop_counts import CountsMemo, structure_counts
    from problems.workloads.zoo import get_workload

    rng = np.random.default_rng(11)
    d = _mixed_batch(rng, 300)
    stack = WorkloadStack.of([get_workload("alexnet"), get_workload("resnet18")])
    memo = CountsMemo()
    a = structure_counts(d, stack, memo=memo)
    n_struct = int(a["inverse"].max()) + 1
    assert n_struct < 200                              # far fewer structures than designs
    b = structure_counts(d.take(slice(100, 300)), stack, memo=memo)   # memo hits
    c = structure_counts(d, stack, memo=None)
    for k in ("conversions", "router_bits", "busy_s", "placed", "macs_per_cycle_max"):
        np.testing.assert_allclose(a[k][a["inverse"]], c[k][c["inverse"]], rtol=1e-12)
        np.testing.assert_array_equal(a[k][a["inverse"]][100:], b[k][b["inverse"]])
    full = evaluate_cimloop(d, stack)
    for i in (0, 57, 299):
        one = evaluate_cimloop(d.take(i), stack)
        np.testing.assert_allclose(one.energy_j[0], full.energy_j[i], rtol=1e-12)
        np.testing.assert_allclose(one.latency_s[0], full.latency_s[i], rtol=1e-12)


def test_memo_keeps_stacks_apart():
    """The same structures on another workload stack never reuse the first stack's counts."""
    from problems.hardware.cimloop_counts import CountsMemo, structure_counts

    d = _mixed_batch(np.random.default_rng(2), 40)
    w1 = Workload.from_records("w", [_layer()])
    w2 = Workload.from_records("w", [_layer(C=128)])                 # same name, other shape
    memo = CountsMemo()
    structure_counts(d, WorkloadStack.of(w1), memo=memo)
    got = structure_counts(d, WorkloadStack.of(w2), memo=memo)
    ref = structure_counts(d, WorkloadStack.of(w2), memo=None)
    np.testing.assert_allclose(got["conversions"][got["inverse"]],
                               ref["conversions"][ref["inverse"]], rtol=1e-12)


def test_integer_keyed_lookup_equals_string_keys():
    """The per-combination lookup of fitted table entries equals a per-design string lookup."""
    from problems.hardware.cimloop_area import AREA_KEYS, area_keys, keyed_lookup

    d = _mixed_batch(np.random.default_rng(5), 200)
    table = load_calibration()["area"]["um2"]
    keys = area_keys(d)
    for name, (cols, key) in AREA_KEYS.items():
        want = np.array([table.get(k, -1.0) for k in keys[name]])
        got = keyed_lookup(table, cols(d), key, np.full(len(d), -1.0))
        np.testing.assert_array_equal(got, want)
        assert (want > 0).any() or name == "rowdrv", name


@pytest.mark.reference
def test_energy_fit_recovers_model_generated_energies(reference_dir):
    """The calibration's energy fit (problems.hardware.calibration), on energies generated by
    the model itself with perturbed constants, reproduces them far better than its prior."""
    results = val.load_results(reference_dir / "cimloop_results.csv")
    results = results[results["network"].isin(["alexnet", "resnet18"])]
    results = results.groupby(["memory", "network"]).head(40).reset_index(drop=True)
    workloads = val.load_layers(reference_dir / "cimloop_layers.csv")
    feats, valid = calib.energy_features(results, workloads)
    rows = np.flatnonzero(valid)
    ef = calib.EnergyFit(feats, results)
    truth = ef.initial() + np.random.default_rng(0).normal(0.0, 0.2, ef.initial().size)
    target = ef.predict(truth)
    groups = (results["memory"] + "/" + results["network"]).to_numpy()
    theta = ef.fit(target, groups, rows)
    err = np.abs(np.log10(ef.predict(theta, rows) / target[rows]))
    err_prior = np.abs(np.log10(ef.predict(ef.initial(), rows) / target[rows]))
    assert err.max() < 0.01
    assert np.median(err) < 0.1 * np.median(err_prior)


def test_memo_is_bounded(monkeypatch):
    """The count memo keeps at most MEMO_MAX_STACKS stacks and restarts a full one."""
    from problems.hardware import cimloop_counts as ccn

    monkeypatch.setattr(ccn, "MEMO_MAX_STACKS", 2)
    monkeypatch.setattr(ccn, "MEMO_MAX_ELEMENTS", 10)
    memo = ccn.CountsMemo()
    d = _mixed_batch(np.random.default_rng(4), 60)
    for c in (16, 32, 48):
        ccn.structure_counts(d, WorkloadStack.of(Workload.from_records("w", [_layer(C=c)])),
                             memo=memo)
    assert len(memo._stacks) == 2
    stack = WorkloadStack.of(Workload.from_records("w", [_layer(C=48)]))
    got = ccn.structure_counts(d, stack, memo=memo)   # its full memo restarts: still right
    ref = ccn.structure_counts(d, stack, memo=None)
    np.testing.assert_allclose(got["busy_s"][got["inverse"]], ref["busy_s"][ref["inverse"]],
                               rtol=1e-12)
    assert len(memo._stacks) == 2

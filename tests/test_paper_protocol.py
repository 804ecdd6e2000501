"""The paper's own protocol (baselines from one optimizer run per seed) on a tiny slice of the
RRAM space: reproducible, never better than the exact baselines, equal to them when the search
is exhaustive, and the script's merged figures and resume (scripts/paper_protocol.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from problems.exhaustive import exhaustive_search
from study.backend import Backend
from study.baselines import largest_workload, paper_protocol, protocol_gains
from study.config import ScenarioConfig, load_study
from study.results import load_results
from study.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
#: 8 bits/cell x 5 column counts x 6 macro counts = 240 designs of rram-paper
FIXED = {"voltage_v": 0.5, "cycle_time_s": 1e-9, "xbar_rows": 512, "router_groups": 32,
         "tiles_per_group": 64, "glb_bytes": 8388608}
WORKLOADS = "resnet18,alexnet"


@pytest.fixture(scope="module")
def tiny():
    sc = ScenarioConfig(name="tiny", space="rram-paper", workloads=WORKLOADS, fixed=FIXED)
    problem = Backend().build_problem(sc, "physical")
    ex = exhaustive_search(problem.space, problem.stack, problem.objective, "physical",
                           top_k=1, progress=False)
    exact_spec = 10.0 ** np.asarray(ex.workload_best_log10, float)
    return problem, exact_spec


def test_same_seed_same_baselines(tiny) -> None:
    problem, _ = tiny
    a = paper_protocol(problem, [0, 1], "random-search", budget=12)
    b = paper_protocol(problem, [0, 1], "random-search", budget=12)
    for x, y in zip(a, b, strict=True):
        assert x.seed == y.seed
        np.testing.assert_array_equal(x.x, y.x)
        np.testing.assert_array_equal(x.edap, y.edap)


def test_one_run_baselines_are_never_better_than_exact(tiny) -> None:
    problem, exact_spec = tiny
    assert problem.space.size == 240
    assert largest_workload(problem) == "alexnet"
    seen = []
    res = paper_protocol(problem, range(4), "random-search", budget=10, on_seed=seen.append)
    assert [r.seed for r in seen] == [0, 1, 2, 3]
    for r in res:
        assert r.edap.shape == (2, 2) and r.x.shape == (2, problem.n_var)
        assert np.all(r.specialist_edap >= exact_spec * (1 - 1e-12))
        np.testing.assert_array_equal(r.largest_edap, r.edap[1])  # alexnet's row


def test_exhaustive_search_gives_the_exact_baselines(tiny) -> None:
    problem, exact_spec = tiny
    (r,) = paper_protocol(problem, [3], "exhaustive", budget=240)
    np.testing.assert_allclose(r.specialist_edap, exact_spec, rtol=1e-9)


def test_protocol_gains() -> None:
    g = protocol_gains(np.array([2.0, 1.0, np.inf]), np.array([4.0, 0.5, 1.0]),
                       np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(g["reduction_vs_largest"][:2], [0.5, -1.0])
    np.testing.assert_allclose(g["loss_vs_specialist"][:2], [0.5, 0.0])
    assert np.isnan(g["reduction_vs_largest"][2]) and np.isnan(g["loss_vs_specialist"][2])


def _script():
    spec = importlib.util.spec_from_file_location("paper_protocol",
                                                  ROOT / "scripts" / "paper_protocol.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_merges_seeds_against_exact_and_resumes(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "tiny", "output": str(tmp_path / "tiny"), "budget": 40, "seeds": 3,
        "scenarios": [{"name": "tiny", "space": "rram-paper", "workloads": WORKLOADS,
                       "fixed": FIXED, "exact_optimum": True}],
        "algorithms": ["random-search"]}))
    out = run_study(load_study(cfg), jobs=1, progress=False, plots=False)
    mod = _script()
    merged = mod.run_scenario(load_results(out), "tiny", "random-search", [0, 1, 2],
                              lambda msg: None)
    assert merged["seeds"] == [0, 1, 2] and merged["largest_workload"] == "alexnet"
    assert merged["baseline_seeds"] == [1000, 1001, 1002]   # independent of the joint runs
    assert (out / "paper-protocol" / "tiny" / "seed-2.json").is_file()
    ex, pp = merged["exact"], merged["paper_protocol"]
    vs = merged["joint_vs_exact_baselines"]
    lw = merged["workloads"].index("alexnet")
    for k in range(3):
        # exact baselines are at least as good as one-run ones: against them the joint design
        # gains less on the largest workload and loses more against the specialists
        assert vs["reduction_vs_largest"][k][lw] <= pp["reduction_vs_largest"][k][lw] + 1e-12
        assert all(a >= b - 1e-12 for a, b in zip(vs["loss_vs_specialist"][k],
                                                   pp["loss_vs_specialist"][k], strict=True))
    # the exact joint optimum is never worse than a run's joint design (same objective)
    best = load_results(out).optimum["tiny"]["score"]
    assert len(ex["joint_edap"]) == 2
    assert all(d["joint_score"] >= best * (1 - 1e-12) for d in merged["per_seed"])
    # resume: nothing is recomputed, the same figures come back
    monkeypatch.setattr(mod, "paper_protocol", lambda *a, **k: pytest.fail("recomputed"))
    again = mod.run_scenario(load_results(out), "tiny", "random-search", [0, 1, 2],
                             lambda msg: None)
    assert again["paper_protocol"] == pp


def section(text: str, name: str) -> str:
    """Section ``## name:`` of a report."""
    i = text.index(f"\n## {name}: ")
    j = text.find("\n## ", i + 1)
    return text[i:] if j < 0 else text[i:j]


def test_report_renders_a_study_and_its_protocol(tmp_path: Path, monkeypatch) -> None:
    """scripts/paper_report.py on a tiny study stored as rram4-max: its tables come from the
    study's files; studies not run say so."""
    raw = tmp_path / "raw"
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "rram4-max", "output": str(raw / "rram4-max"), "budget": 40, "seeds": 2,
        "scenarios": [{"name": "rram4-max", "space": "rram-paper", "workloads": WORKLOADS,
                       "fixed": FIXED, "exact_optimum": True}],
        "algorithms": ["paper-ga", "random-search"]}))
    out = run_study(load_study(cfg), jobs=1, progress=False, plots=False)
    _script().run_scenario(load_results(out), "rram4-max", "random-search", [0, 1],
                           lambda msg: None)
    spec = importlib.util.spec_from_file_location("paper_report",
                                                  ROOT / "scripts" / "paper_report.py")
    rep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rep)
    previous = tmp_path / "previous.md"
    previous.write_text("# old\n\n## sram9-mean: old\n\nOLD NUMBERS 1.2%\n\n## tech-cost: x\n")
    monkeypatch.setattr("sys.argv", ["paper_report.py", "--raw", str(raw), "--out",
                                     str(tmp_path / "rep"), "--preamble", str(tmp_path / "no"),
                                     "--previous", str(previous)])
    rep.main()
    text = (tmp_path / "rep" / "REPORT.md").read_text()
    assert "Exact optimum (enumeration of 240 designs" in text
    assert "### rram4-max (`physical`), largest workload alexnet, 2 seeds" in text
    assert "_Not run in this round" in text                 # e.g. sram4-max: no previous
    sram9 = text[text.index("## sram9-mean:"):text.index("## tech-cost:")]
    assert "**Stale: not regenerated" in sram9 and "OLD NUMBERS 1.2%" in sram9
    assert "Stale" not in text.replace(sram9, "")    # rram4-max: computed with this model
    opt = json.loads((out / "optimum" / "rram4-max.json").read_text())
    base = json.loads((out / "baselines" / "rram4-max.json").read_text())
    lw = dict(zip(base["specialists"]["alexnet"]["workloads"],
                  base["specialists"]["alexnet"]["edap_j_s_mm2"], strict=True))
    j = dict(zip(opt["metrics"]["workloads"], opt["metrics"]["edap_j_s_mm2"], strict=True))
    red = 1 - j["resnet18"] / lw["resnet18"]
    assert f"| resnet18 | {j['resnet18']:.4g} | {lw['resnet18']:.4g} | {rep.pct(red)} |" in text
    # a study computed with another model source is flagged
    rec = json.loads((out / "study.json").read_text())
    assert f"model identity `{rec['identities']['rram4-max']}`" in text
    rec["identities"]["rram4-max"] = "0" * 16
    (out / "study.json").write_text(json.dumps(rec))
    rep.main()
    text = section((tmp_path / "rep" / "REPORT.md").read_text(), "rram4-max")
    n = 1 + 2 * 2 + 2 * 2   # optimum, 2 algorithms x 2 seeds, 2 seeds x 2 protocol baselines
    assert f"reproduces the EDAP of all {n} stored designs" in text and "**Stale" not in text
    # ... and whose stored numbers the code does not reproduce is stale
    f = out / "optimum" / "rram4-max.json"
    o = json.loads(f.read_text())
    o["metrics"]["edap_j_s_mm2"][0] *= 1.01
    f.write_text(json.dumps(o))
    rep.main()
    assert "**Stale" in section((tmp_path / "rep" / "REPORT.md").read_text(), "rram4-max")


def test_script_bad_seeds_is_one_error_line(tmp_path: Path, capsys, monkeypatch) -> None:
    mod = _script()
    monkeypatch.setattr("sys.argv", ["paper_protocol.py", str(tmp_path / "nothing")])
    assert mod.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and "study directory" in err[0]
    with pytest.raises(Exception, match="--seeds"):
        mod.parse_seeds("0-x", [0])


def test_packing_script_block_diagonal_never_worse_than_one_per_group() -> None:
    """scripts/paper_packing.py's enumeration on a tiny slice with MobileNetV3 (depthwise):
    packing several groups per crossbar never loses feasible designs nor raises the optimum."""
    spec = importlib.util.spec_from_file_location("paper_packing",
                                                  ROOT / "scripts" / "paper_packing.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fixed = FIXED | {"router_groups": 4, "tiles_per_group": 16}   # small chips: residency binds
    sc = ScenarioConfig(name="tiny", space="rram-paper", workloads="mobilenet_v3,alexnet",
                        fixed=fixed)
    old = mod.enumerate_optimum(sc, "one-per-group")
    new = mod.enumerate_optimum(sc, "block-diagonal")
    assert old["n_designs"] == new["n_designs"] == 240
    # on this slice MobileNetV3's depthwise layers decide residency: packing must help
    assert new["n_feasible"] > old["n_feasible"] > 0
    assert new["score"] < old["score"]

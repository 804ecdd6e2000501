"""Study runner: resume after a real signal, local pool / Dask == serial, outputs and schema.

Most tests use `FakeBackend` (tests/test_study_fakes.py), a 120-design toy problem, so they
exercise the runner itself in seconds; `test_real_backend_small_study` runs the real cost
model on a 1,260-design slice of the paper's RRAM space.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_study_fakes import FakeBackend, fake_optimum

from problems.errors import ImcoptError
from study.archive import Archive
from study.config import load_study
from study.runner import run_study

TESTS = Path(__file__).resolve().parent

FAKE_STUDY = {
    "name": "fake",
    "budget": 40,
    "seeds": 4,
    "scenarios": [
        {"name": "toy", "space": "rram-paper", "workloads": "paper-4", "exact_optimum": True},
        {"name": "toy-small", "space": "rram-paper", "workloads": "paper-4",
         "constraints": {"area_budget_mm2": 100}},
    ],
    "algorithms": ["paper-ga", "random-search"],
}

# Runs `imcopt` (study.cli.main) with the fake backend handed to the CLI.
LAUNCH = (
    "import sys; sys.path.insert(0, sys.argv[1]); import test_study_fakes as f; "
    "from study.cli.main import main; "
    "main(sys.argv[3:], obj={'backend': f.FakeBackend(delay=float(sys.argv[2]))})"
)


def write_config(tmp_path: Path, **over: object) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump({**FAKE_STUDY, "output": str(tmp_path / "default"), **over}))
    return p


def run_fake(cfg: Path, out: Path, **kw: object) -> Path:
    kw.setdefault("plots", False)
    return run_study(load_study(cfg), out=out, backend=FakeBackend(), progress=False, **kw)


def comparable(out: Path) -> dict[str, object]:
    """Everything a study produced that must not depend on how / when it was run."""
    runs = pd.read_csv(out / "runs.csv").drop(columns=["wall_time_s"]).astype(object)
    runs = runs.where(runs.notna(), "NA")
    arrays = {}
    for p in sorted((out / "runs").rglob("seed-*.npz")):
        a = Archive.load(p)
        arrays[str(p.relative_to(out))] = (a.X.tolist(), a.score.tolist())
    opt = {p.name: json.loads(p.read_text())["score"] for p in (out / "optimum").glob("*.json")}
    return {"runs": runs.to_dict(orient="list"), "arrays": arrays, "optimum": opt,
            "summary": json.loads((out / "summary.json").read_text())}


def finished(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns
            for p in (out / "runs").rglob("seed-*.json")} if (out / "runs").is_dir() else {}


def launch(cfg: Path, out: Path, delay: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(TESTS), str(delay), "run", str(cfg), "--out",
         str(out), "--jobs", "2", "--no-progress", "--no-plots"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def group_gone(pgid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", ["SIGKILL-group", "SIGTERM-main"])
def test_resume_after_real_signal_matches_uninterrupted_run(tmp_path: Path, how: str) -> None:
    cfg = write_config(tmp_path, scenarios=FAKE_STUDY["scenarios"][:1])  # 8 runs
    out = tmp_path / "interrupted"
    proc = launch(cfg, out, delay=0.6)
    try:
        end = time.monotonic() + 90
        while len(finished(out)) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, "no run finished in time"
            time.sleep(0.05)
        if how == "SIGKILL-group":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # only the main process: it must stop its workers itself
            os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert group_gone(proc.pid), "worker processes survived the study"
    before = finished(out)
    assert 2 <= len(before) < 8
    assert not (out / "report.md").exists()

    again = launch(cfg, out, delay=0.0)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"8 runs ({len(before)} already finished)" in err
    after = finished(out)
    assert len(after) == 8
    assert all(after[k] == v for k, v in before.items()), "finished runs were redone"
    leftovers = [p for p in out.rglob("*") if ".tmp" in p.name]
    assert not leftovers
    for p in (out / "runs").rglob("*.npz"):
        assert len(Archive.load(p)) == 40

    reference = run_fake(cfg, tmp_path / "uninterrupted", jobs=1)
    assert comparable(out) == comparable(reference)


def test_local_pool_and_dask_cluster_match_serial(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import cloudpickle
    import test_study_fakes

    cfg = write_config(tmp_path)
    serial = comparable(run_fake(cfg, tmp_path / "serial", jobs=1))
    assert comparable(run_fake(cfg, tmp_path / "pool", jobs=2)) == serial
    # Dask workers are separate (spawned) processes: ship the fake backend by value
    cloudpickle.register_pickle_by_value(test_study_fakes)
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster:
            out = run_fake(cfg, tmp_path / "dask", dask=cluster.scheduler_address)
    finally:
        cloudpickle.unregister_pickle_by_value(test_study_fakes)
    assert comparable(out) == serial


def test_outputs_and_summary_schema(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    out = run_fake(cfg, tmp_path / "s", jobs=1, plots=True)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"scenarios"}
    assert [s["name"] for s in summary["scenarios"]] == ["toy", "toy-small"]
    for s in summary["scenarios"]:
        assert set(s) == {"name", "optimum", "algorithms"}
        assert [a["name"] for a in s["algorithms"]] == ["paper-ga", "random-search"]
        for a in s["algorithms"]:
            assert set(a) == {"name", "seeds", "median_best", "iqr_best", "median_gap",
                              "success_rate_5pct"}
            assert a["seeds"] == 4
            assert a["median_best"] > 0 and a["iqr_best"] >= 0
    toy, small = summary["scenarios"]
    assert toy["optimum"] == pytest.approx(fake_optimum())
    assert small["optimum"] is None  # not enumerated
    assert all(a["median_gap"] is None and a["success_rate_5pct"] is None
               for a in small["algorithms"])
    for a in toy["algorithms"]:
        assert a["median_gap"] >= 0
        assert 0 <= a["success_rate_5pct"] <= 1

    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 * 2 * 4
    assert {"best_score_j_s_mm2", "evaluations", "wall_time_s", "xbar_rows",
            "voltage_v"} <= set(runs.columns)
    assert (runs["evaluations"] == 40).all()
    toy_runs = runs[runs["scenario"] == "toy"]
    assert (toy_runs["best_score_j_s_mm2"] >= fake_optimum() * (1 - 1e-12)).all()
    med = toy_runs[toy_runs["algorithm"] == "paper-ga"]["best_score_j_s_mm2"].median()
    assert toy["algorithms"][0]["median_best"] == pytest.approx(med)

    best = pd.read_csv(out / "best_designs.csv")
    assert {"energy_j", "latency_s", "edap_j_s_mm2", "area_mm2", "workload"} <= set(best.columns)
    toy_best = best[best["scenario"] == "toy"]
    assert {"exact-optimum", "specialist", "largest-workload (wb)"} <= set(toy_best["source"])
    report = (out / "report.md").read_text()
    for fig in ("convergence_toy.png", "fronts_toy.png", "baselines_toy.png",
                "final_scores.png"):
        assert (out / "plots" / fig).stat().st_size > 1000
        assert f"plots/{fig}" in report
    # a second run does nothing but rewrite the summaries; the optimum is reused
    before = finished(out)
    opt_mtime = (out / "optimum" / "toy.json").stat().st_mtime_ns
    run_fake(cfg, out, jobs=1)
    assert finished(out) == before
    assert (out / "optimum" / "toy.json").stat().st_mtime_ns == opt_mtime


def test_changed_budget_is_refused_then_forced_aside(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, scenarios=FAKE_STUDY["scenarios"][:1], seeds=1)
    out = run_fake(cfg, tmp_path / "s", jobs=1)
    old_runs = (out / "runs.csv").read_bytes()
    cfg2 = write_config(tmp_path, scenarios=FAKE_STUDY["scenarios"][:1], seeds=1, budget=25)
    with pytest.raises(ImcoptError, match="budget 40 vs 25"):
        run_fake(cfg2, out, jobs=1)
    assert (out / "runs.csv").read_bytes() == old_runs
    run_fake(cfg2, out, jobs=1, force=True)
    runs = pd.read_csv(out / "runs.csv")
    assert (runs["evaluations"] == 25).all()
    (aside,) = out.glob(".previous-*")
    assert (aside / "runs.csv").read_bytes() == old_runs  # moved, not deleted


def test_dask_missing_gives_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    cfg = write_config(tmp_path, scenarios=FAKE_STUDY["scenarios"][:1], seeds=1)
    with pytest.raises(ImcoptError, match=re.escape("pip install 'imcopt[dask]'")):
        run_fake(cfg, tmp_path / "d", dask="local")


def test_real_backend_small_study(tmp_path: Path, capsys) -> None:
    """Real cost model on a 1,260-design slice of the RRAM space, exact optimum by
    enumeration checked against an independent brute force; the best design and the fronts
    round-trip through `imcopt best --export` / `imcopt evaluate --design`."""
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    fixed = {"voltage_v": 0.5, "bits_per_cell": 8, "cycle_time_s": 1e-9, "xbar_rows": 512,
             "xbar_cols": 64}
    cfg = tmp_path / "real.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "real", "output": str(tmp_path / "real"), "budget": 120, "seeds": 2,
        "scenarios": [{"name": "slice", "space": "rram-paper", "workloads": "paper-4",
                       "fixed": fixed, "exact_optimum": True}],
        "algorithms": ["random-search", "nsga2"]}))
    out = run_study(load_study(cfg), jobs=1, progress=False)
    full = SearchSpace.load("rram-paper")
    keep = [v for v in full.variables if v.name not in fixed]
    space = SearchSpace("slice", keep, {**full.fixed, **fixed})
    assert space.size == 1260
    problem = JointIMCProblem(space, load_workloads("paper-4"), ObjectiveConfig())
    brute = problem.evaluate_batch(space.index_range(0, space.size))["score"].min()
    opt = json.loads((out / "optimum" / "slice.json").read_text())
    assert opt["n_designs"] == 1260
    assert opt["score"] == pytest.approx(brute, rel=1e-12)
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4
    assert (runs["best_score_j_s_mm2"] >= brute * (1 - 1e-12)).all()
    assert (runs["xbar_rows"] == 512).all() and (runs["voltage_v"] == 0.5).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenarios"][0]["optimum"] == pytest.approx(brute, rel=1e-12)
    best = pd.read_csv(out / "best_designs.csv")
    assert "largest-workload (vgg16)" in set(best["source"])
    spec = best[best["source"] == "specialist"].set_index("workload")["edap_j_s_mm2"]
    joint = best[best["source"] == "exact-optimum"].set_index("workload")["edap_j_s_mm2"]
    assert (joint >= spec * (1 - 1e-9)).all()  # a specialist is the per-workload lower bound
    _round_trips(out, runs, tmp_path, capsys)


def _round_trips(out: Path, runs: pd.DataFrame, tmp_path: Path, capsys) -> None:
    from problems.hardware.cost import evaluate
    from problems.hardware.design import DesignBatch
    from problems.workloads import load_workloads
    from study.analysis import DESIGN_PARAMS
    from study.cli.main import main

    design_file = tmp_path / "best.yaml"
    main(["best", str(out), "--export", str(design_file)])
    printed = capsys.readouterr().out
    top = runs.sort_values(["best_score_j_s_mm2", "algorithm", "seed"]).iloc[0]
    rec = json.loads((out / "runs" / "slice" / top["algorithm"]
                      / f"seed-{top['seed']}.json").read_text())
    assert f"by {top['algorithm']} (seed {top['seed']})" in printed
    main(["evaluate", "--design", str(design_file), "--workloads", "paper-4", "--json"])
    ev = json.loads(capsys.readouterr().out)
    assert [w["energy_j"] for w in ev["workloads"]] == pytest.approx(rec["best_energy_j"],
                                                                      rel=1e-12)
    assert [w["latency_s"] for w in ev["workloads"]] == pytest.approx(rec["best_latency_s"],
                                                                       rel=1e-12)
    # the exact front and each algorithm's front: designs whose re-evaluation gives the row
    opt = json.loads((out / "optimum" / "slice.json").read_text())
    tables = [pd.read_csv(out / "optimum" / "slice-front.csv")]
    assert len(tables[0]) == len(opt["front"])
    tables += [pd.read_csv(out / "fronts" / "slice" / f"{a}.csv")
               for a in ("random-search", "nsga2")]
    wl = load_workloads("paper-4")
    for t in tables:
        assert len(t) and {"aggregated_energy_j", "aggregated_latency_s", "area_mm2"} <= set(t)
        rows = t.iloc[[0, len(t) - 1]]
        d = DesignBatch.from_dict({k: rows[k].tolist() for k in DESIGN_PARAMS if k in rows})
        r = evaluate(d, wl, convention="physical")
        assert r.energy_j.max(axis=1) == pytest.approx(rows["aggregated_energy_j"], rel=1e-9)
        assert r.latency_s.max(axis=1) == pytest.approx(rows["aggregated_latency_s"], rel=1e-9)
        assert r.area_mm2 == pytest.approx(rows["area_mm2"], rel=1e-9)


def test_worker_with_a_different_model_refuses_to_run(tmp_path: Path) -> None:
    from study.session import StudySession
    from study.tasks import RunSpec, Task

    cfg = load_study(write_config(tmp_path, seeds=1))
    spec = RunSpec(cfg.scenarios[0], cfg.algorithms[0], 0, 10, "physical", "another-model")
    with pytest.raises(ImcoptError, match="differ from the study's"):
        StudySession(FakeBackend()).execute(Task("run", tmp_path / "o", run=spec))
    assert not (tmp_path / "o").exists()
    ok = RunSpec(cfg.scenarios[0], cfg.algorithms[0], 0, 10, "physical", "fake-model-v1")
    assert StudySession(FakeBackend()).execute(Task("run", tmp_path / "o", run=ok)
                                               )["evaluations"] == 10


def test_run_without_config_uses_the_quickstart(tmp_path: Path, monkeypatch, capsys) -> None:
    import study.cli.run as cli_run

    assert cli_run.quickstart_config().is_file()
    small = write_config(tmp_path, scenarios=FAKE_STUDY["scenarios"][:1], seeds=1)
    monkeypatch.setattr(cli_run, "quickstart_config", lambda: small)
    from study.cli.main import main

    main(["run", "--out", str(tmp_path / "q"), "--jobs", "1", "--no-progress", "--no-plots"],
         obj={"backend": FakeBackend()})
    assert "study 'fake' done" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "q" / "runs.csv")) == 2

"""Study-output safety (issue 16): one study per directory (lock, stored fingerprint, no user
folders), clean-up of imcopt's own temp files only, damaged run files detected, outputs checked
writable before computing, live progress, and designs that round-trip to `imcopt evaluate`.

Every refusal is checked as the user sees it: exit code 2, ONE line ``Error: ...`` naming the
file / field / rule, no traceback, every file present before the command byte-identical after.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_study_fakes import FakeBackend
from test_study_runner import FAKE_STUDY, LAUNCH, TESTS, comparable, run_fake, write_config

from study.archive import Archive
from study.cli.main import main

ONE = FAKE_STUDY["scenarios"][:1]  # "toy": 8 runs + 1 enumeration slice


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def cli(args: list[str], capsys, backend: object | None = None) -> tuple[int, str, str]:
    """Run `imcopt ARGS` in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(args, obj={"backend": backend or FakeBackend()})
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def launch(cfg: Path, out: Path, delay: float, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(TESTS), str(delay), "run", str(cfg), "--out",
         str(out), "--jobs", "2", "--no-plots", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


# -- one study per directory -----------------------------------------------------------------
def test_second_run_on_a_busy_directory_fails_at_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, scenarios=ONE)
    out = tmp_path / "busy"
    first = launch(cfg, out, 3.0, "--no-progress")  # 8 runs x 3 s on 2 workers: ~12 s
    try:
        end = time.monotonic() + 60
        while not (out / ".imcopt-owner.json").is_file():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < end
            time.sleep(0.05)
        t0 = time.monotonic()
        second = launch(write_config(tmp_path, scenarios=ONE, budget=20), out, 0.0,
                        "--no-progress")
        _, err = second.communicate(timeout=60)
        took = time.monotonic() - t0
        assert first.poll() is None, "the first study ended before the second was refused"
        assert_one_error(second.returncode, err, f"{out} is in use by pid {first.pid} on "
                                                 f"{socket.gethostname()} (since ")
        assert took < 20  # at once: it does not wait for the first study
        _, err1 = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, 9)
    assert first.returncode == 0, err1
    assert not (out / ".imcopt-owner.json").exists()
    assert "8 of 8 runs" in (out / "report.md").read_text()
    reference = run_fake(write_config(tmp_path, scenarios=ONE), tmp_path / "ref", jobs=1)
    assert comparable(out) == comparable(reference)


def test_changed_config_is_refused_naming_the_difference(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    run_fake(write_config(tmp_path, scenarios=ONE, seeds=1), out, jobs=1)
    before = snapshot(out)
    other = [dict(ONE[0], workloads=["resnet18", "vgg16"])]
    cfg = write_config(tmp_path, scenarios=other, seeds=1, budget=25)
    code, _, err = cli(["run", str(cfg), "--out", str(out), "--jobs", "1", "--no-progress",
                        "--no-plots"], capsys)
    line = assert_one_error(code, err, str(out), "budget 40 vs 25", "workloads", "--force")
    assert "paper-4" in line
    assert snapshot(out) == before
    # --force moves the old results aside (byte-identical) and starts afresh
    code, _, err = cli(["run", str(cfg), "--out", str(out), "--jobs", "1", "--no-progress",
                        "--no-plots", "--force"], capsys)
    assert code == 0, err
    (aside,) = out.glob(".previous-*")
    assert f"moved the earlier results to {aside}" in err
    assert snapshot(aside) == {k: v for k, v in before.items() if not k.startswith(".imcopt")}
    assert (pd.read_csv(out / "runs.csv")["evaluations"] == 25).all()


def test_a_users_folder_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.md").write_text("my notes\n")
    (out / "runs.csv").write_text("a,b\n1,2\n")
    (out / ".notes.tmp.txt").write_text("draft\n")
    before = snapshot(out)
    cfg = write_config(tmp_path, scenarios=ONE, seeds=1)
    code, _, err = cli(["run", str(cfg), "--out", str(out), "--jobs", "1", "--no-progress"],
                       capsys)
    assert_one_error(code, err, str(out), "not made by imcopt", "--out")
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp.txt", "report.md", "runs.csv"]


def test_clean_up_touches_only_imcopt_temp_files(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, scenarios=ONE, seeds=1)
    out = run_fake(cfg, tmp_path / "s", jobs=1)
    user = [out / ".notes.tmp.txt", out / "runs" / ".my.tmp", out / "runs" / "toy" / "x.tmp"]
    for p in user:
        p.write_text("user data\n")
    ours = [out / ".runs.csv.k3j_x9a2.tmp",
            out / "runs" / "toy" / "paper-ga" / ".seed-0.npz.ab12cd34.tmp.npz"]
    for p in ours:
        p.write_bytes(b"partial")
    run_fake(cfg, out, jobs=1)
    assert all(p.read_text() == "user data\n" for p in user)
    assert not any(p.exists() for p in ours)


# -- damaged run files -----------------------------------------------------------------------
@pytest.fixture()
def truncated(tmp_path: Path) -> tuple[Path, Path, Path, Archive]:
    cfg = write_config(tmp_path, scenarios=ONE, seeds=2)
    out = run_fake(cfg, tmp_path / "s", jobs=1)
    npz = out / "runs" / "toy" / "paper-ga" / "seed-1.npz"
    good = Archive.load(npz)
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    return cfg, out, npz, good


@pytest.mark.parametrize("command", ["compare", "report", "plot", "best"])
def test_damaged_run_file_is_one_clear_error(truncated, command: str, capsys) -> None:
    _, out, npz, _ = truncated
    before = snapshot(out)
    code, _, err = cli([command, str(out)], capsys)
    assert_one_error(code, err, f"damaged run file {npz} (", f"re-run imcopt run {out} to "
                                                              "recompute")
    assert snapshot(out) == before


def test_run_recomputes_a_damaged_run_and_says_so(truncated, capsys) -> None:
    cfg, out, npz, good = truncated
    code, _, err = cli(["run", str(cfg), "--out", str(out), "--jobs", "1", "--no-progress",
                        "--no-plots"], capsys)
    assert code == 0, err
    assert f"recomputing {npz}: damaged" in err
    assert "4 runs (3 already finished)" in err
    again = Archive.load(npz)
    assert np.array_equal(again.X, good.X) and np.array_equal(again.score, good.score)


# -- outputs checked before computing --------------------------------------------------------
@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("outputs")
    return run_fake(write_config(tmp, scenarios=ONE, seeds=2), tmp / "s", jobs=1)


def test_unwritable_plot_folder(study_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    import study.analysis

    d = tmp_path / "copy"
    for rel, data in snapshot(study_dir).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    (d / "plots").write_text("a file where the plots folder goes\n")
    before = snapshot(d)
    monkeypatch.setattr(study.analysis, "best_designs_table",
                        lambda *a: pytest.fail("computed before checking the outputs"))
    code, _, err = cli(["plot", str(d)], capsys)
    assert_one_error(code, err, f"cannot write {d / 'plots' / 'final_scores.png'}: ")
    code, _, err = cli(["report", str(d)], capsys)
    assert_one_error(code, err, "cannot write ", str(d / "plots"))
    assert snapshot(d) == before


def test_unwritable_report_target(study_dir: Path, tmp_path: Path, capsys,
                                  monkeypatch) -> None:
    import study.report

    d = tmp_path / "copy"
    for rel, data in snapshot(study_dir).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    (d / "report.md").unlink()
    (d / "report.md").mkdir()
    before = snapshot(d)
    monkeypatch.setattr(study.report, "analyse",
                        lambda *a, **k: pytest.fail("computed before checking the outputs"))
    code, _, err = cli(["report", str(d), "--no-plots"], capsys)
    assert_one_error(code, err, f"cannot write {d / 'report.md'}: is a directory")
    assert snapshot(d) == before
    code, _, err = cli(["best", str(d), "--export", str(d / "runs.csv" / "design.yaml")],
                       capsys)
    assert_one_error(code, err, f"cannot write {d / 'runs.csv' / 'design.yaml'}: ")
    assert snapshot(d) == before


def test_run_checks_its_outputs_before_computing(study_dir: Path, tmp_path: Path,
                                                  capsys) -> None:
    d = tmp_path / "copy"
    for rel, data in snapshot(study_dir).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    (d / "runs" / "toy" / "paper-ga" / "seed-1.json").unlink()  # one run left to compute
    (d / "summary.json").unlink()
    (d / "summary.json").mkdir()
    before = snapshot(d)
    cfg = write_config(tmp_path, scenarios=ONE, seeds=2)

    class Refuse(FakeBackend):
        def run(self, *a):  # noqa: ANN002, ANN201
            raise AssertionError("computed before checking the outputs")

    code, _, err = cli(["run", str(cfg), "--out", str(d), "--jobs", "1", "--no-progress"],
                       capsys, backend=Refuse())
    assert_one_error(code, err, f"cannot write {d / 'summary.json'}: is a directory")
    assert snapshot(d) == before


# -- progress and time estimates -------------------------------------------------------------
def test_progress_is_live_with_two_jobs(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, scenarios=ONE)
    proc = launch(cfg, tmp_path / "p", 0.4)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    counts = {int(m) for m in re.findall(r"\| *(\d)/9 \[", err)}
    assert counts & set(range(1, 9)), err  # updates between start and end
    assert re.search(r"\d/9 \[\d\d:\d\d<\d\d:\d\d", err)  # elapsed < ETA


def test_time_estimate_before_a_long_enumeration(tmp_path: Path, monkeypatch) -> None:
    import study.runner
    from study.enumeration import estimate_seconds
    from study.session import StudySession

    class Slow(FakeBackend):
        def optimum_part(self, problem, start, stop):  # noqa: ANN001, ANN201
            time.sleep(1e-3 * (stop - start))  # 1 ms per design
            return super().optimum_part(problem, start, stop)

    cfg = write_config(tmp_path, scenarios=ONE, seeds=1)
    from study.config import load_study

    sc = load_study(cfg).scenarios[0]
    est = estimate_seconds(StudySession(Slow()), sc, "physical", 120_000, workers=2)
    assert 50 < est < 120  # 120,000 designs x 1 ms / 2 workers = 60 s
    monkeypatch.setattr(study.runner, "ESTIMATE_ABOVE_S", 0.05)  # this slice takes 0.12 s
    logs: list[str] = []
    study.runner.run_study(load_study(cfg), out=tmp_path / "e", jobs=1, backend=Slow(),
                           progress=False, plots=False, log=logs.append)
    assert any(re.fullmatch(r"enumerating 120 designs of scenario 'toy': about "
                            r"0\.0 min on 1 worker\(s\)", m) for m in logs), logs


# -- round trips -----------------------------------------------------------------------------
def test_fake_study_writes_front_tables(study_dir: Path) -> None:
    opt = json.loads((study_dir / "optimum" / "toy.json").read_text())
    front = pd.read_csv(study_dir / "optimum" / "toy-front.csv")
    assert len(front) == len(opt["front"])
    cols = ["aggregated_energy_j", "aggregated_latency_s", "area_mm2"]
    np.testing.assert_allclose(front[cols].to_numpy(), np.asarray(opt["front"]))
    assert {"xbar_rows", "xbar_cols", "voltage_v"} <= set(front.columns)
    for alg in ("paper-ga", "random-search"):
        f = pd.read_csv(study_dir / "fronts" / "toy" / f"{alg}.csv")
        F = f[cols].to_numpy()
        assert len(f) and set(f["seed"]) <= {0, 1}
        dominated = [(np.all(F[i] >= F, axis=1) & np.any(F[i] > F, axis=1)).any()
                     for i in range(len(F))]
        assert not any(dominated)


def test_exhaustive_search_announces_a_long_enumeration(monkeypatch, capsys) -> None:
    from helpers_search import tiny_space, tiny_workloads

    import problems.exhaustive as ex

    space = tiny_space()
    monkeypatch.setattr(ex, "ESTIMATE_ABOVE_S", 0.0)  # every enumeration counts as long
    ex.exhaustive_search(space, tiny_workloads(), chunk=16, progress=True)
    assert f"enumerating {space.size:,} designs of {space.name}: about " in capsys.readouterr().err
    monkeypatch.setattr(ex, "ESTIMATE_ABOVE_S", 3600.0)
    ex.exhaustive_search(space, tiny_workloads(), chunk=16, progress=True)
    assert "enumerating" not in capsys.readouterr().err


def test_figures_drawn_in_processes_are_the_serial_ones(study_dir: Path, tmp_path: Path) -> None:
    """`plot_all(jobs=2)` (forked workers) writes the same figures, in the same order, as the
    serial drawing; the PNGs are valid images of the same size."""
    from PIL import Image

    from study.plots import plot_all
    from study.report import best_designs_table
    from study.results import load_results

    res = load_results(study_dir)
    best = best_designs_table(res)
    one = plot_all(res, best, tmp_path / "one", jobs=1)
    two = plot_all(res, best, tmp_path / "two", jobs=2)
    assert [p.name for p in one] == [p.name for p in two] and len(one) >= 4
    for a, b in zip(one, two, strict=True):
        with Image.open(a) as ia, Image.open(b) as ib:
            assert ia.size == ib.size


def test_failed_report_leaves_no_figure_process(study_dir: Path, tmp_path: Path,
                                                monkeypatch) -> None:
    """An error after the figure processes started (here in the analysis) stops them: no
    child process outlives `finalize_study`, and the error is the caller's."""
    import multiprocessing as mp
    import shutil

    import study.report as report

    d = tmp_path / "copy"
    shutil.copytree(study_dir, d)

    def broken(res):
        assert mp.active_children()            # the figure workers are running
        raise RuntimeError("analysis failed")

    monkeypatch.setattr(report, "analyse", broken)
    with pytest.raises(RuntimeError, match="analysis failed"):
        report.finalize_study(d, jobs=2)
    assert mp.active_children() == []

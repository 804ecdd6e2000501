"""Issue 16, outputs: targets checked BEFORE computing, every write error one `Error: cannot
write PATH: reason` line (exit 2, nothing partial, nothing of the user's changed), the umask
respected, exhaustive --json designs accepted by evaluate, evaluate's metrics and verdict."""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from bad_input_helpers import refused, run

from problems.io import TEMP_PATTERN, OutputError, atomic_write_text, check_writable

TINY_SPACE = """name: tiny
variables:
  - {name: xbar_rows, values: [64, 128, 256], unit: rows}
  - {name: xbar_cols, values: [64, 128], unit: columns}
  - {name: macros_per_tile, values: [8, 16, 32], unit: macros}
  - {name: bits_per_cell, values: [1, 2, 4], unit: bit}
fixed: {memory: RRAM, router_groups: 8, tiles_per_group: 16}
"""


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder (cwd) with files that must survive; the cache lives elsewhere."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path / "cache"))
    (work / "notes.txt").write_text("my notes\n")
    (work / ".notes.tmp.txt").write_text("half-written notes\n")
    (work / "old.json").write_text('{"mine": true}\n')
    (work / "old.png").write_bytes(b"\x89PNG old picture")
    (work / "outdir").mkdir()
    (work / "tiny.yaml").write_text(TINY_SPACE)
    return work


def _forbid(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Make ``target`` (module:attr) fail if called: the check must come first."""
    module, attr = target.split(":")

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{target} ran before the output was checked")

    monkeypatch.setattr(f"{module}.{attr}", boom)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("problems.io.os.fsync", full)


EXH = ["exhaustive", "--space", "tiny.yaml", "--workloads", "resnet18", "--no-progress"]


# -- 5. writable before computing; every OSError one line ----------------------------------------
@pytest.mark.parametrize("target,reason", [("notes.txt/out.json", "notes.txt is not a directory"),
                                           ("outdir", "is a directory")])
def test_exhaustive_json_target_checked_before_the_enumeration(folder, capsys, monkeypatch,
                                                               target, reason):
    _forbid(monkeypatch, "problems.exhaustive:exhaustive_search")
    refused(capsys, [*EXH, "--json", target], folder, f"cannot write {target}", reason)


def test_read_only_target_is_refused_before_computing(folder, capsys, monkeypatch):
    # (the tests run as root, where chmod does not stop writes: simulate the refusal)
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("problems.io.tempfile.mkstemp", denied)
    _forbid(monkeypatch, "problems.exhaustive:exhaustive_search")
    refused(capsys, [*EXH, "--json", "old.json"], folder, "cannot write old.json",
            "Permission denied")
    _forbid(monkeypatch, "study.cli.evaluate:evaluate_cost")
    refused(capsys, ["evaluate", "-w", "alexnet", "--plot", "old.png"], folder,
            "cannot write old.png", "Permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_for_real(folder, capsys):
    ro = folder / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        refused(capsys, [*EXH, "--json", "ro/x.json"], folder, "cannot write ro/x.json")
    finally:
        ro.chmod(0o755)


def test_disk_full_while_writing_keeps_the_old_file(folder, capsys, monkeypatch):
    _disk_full(monkeypatch)
    line = refused(capsys, [*EXH, "--json", "old.json"], folder, "cannot write old.json",
                   "No space left on device", warnings_ok=True)  # the cache write warns too
    assert line == "Error: cannot write old.json: No space left on device"
    refused(capsys, ["evaluate", "-w", "alexnet", "--plot", "old.png"], folder,
            "cannot write old.png", "No space left on device")


def test_validate_json_target_checked_first(folder, capsys, monkeypatch):
    _forbid(monkeypatch, "study.cli.validate:run_validation")
    refused(capsys, ["validate", "--json", "notes.txt/v.json"], folder,
            "cannot write notes.txt/v.json")
    refused(capsys, ["validate", "--json", "outdir"], folder, "cannot write outdir",
            "is a directory")


def test_evaluate_plot_target_checked_first(folder, capsys, monkeypatch):
    _forbid(monkeypatch, "study.cli.evaluate:evaluate_cost")
    refused(capsys, ["evaluate", "-w", "alexnet", "--plot", "notes.txt/p.png"], folder,
            "cannot write notes.txt/p.png")
    refused(capsys, ["evaluate", "-w", "alexnet", "--plot", "p.txt"], folder, "--plot p.txt",
            "unsupported file type")


def test_unwritable_cache_warns_and_the_result_is_still_written(folder, capsys, monkeypatch):
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(folder / "notes.txt"))
    capsys.readouterr()
    assert run([*EXH, "--json", "new.json"]) == 0
    err = capsys.readouterr().err
    assert "warning: cannot write" in err and "will not be cached" in err
    assert json.loads((folder / "new.json").read_text())["n_designs"] == 54
    assert (folder / "notes.txt").read_text() == "my notes\n"


def test_atomic_writer_errors_leave_nothing(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")
    _disk_full(monkeypatch)
    with pytest.raises(OutputError, match=r"cannot write .*a.txt: No space left on device"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["a.txt"]
    with pytest.raises(OutputError, match="No space left"):  # folders it made are removed
        atomic_write_text(tmp_path / "new" / "deeper" / "c.txt", "x")
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    with pytest.raises(OutputError, match="a.txt is not a directory"):
        check_writable(target / "b.txt")
    check_writable(tmp_path / "new" / "deeper" / "c.txt")  # creatable: fine, nothing made
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_temp_files_follow_the_documented_pattern(tmp_path, monkeypatch):
    seen: list[str] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr("problems.io.os.replace", spy)
    atomic_write_text(tmp_path / "report.md", "x")
    assert len(seen) == 1 and fnmatch.fnmatch(seen[0], TEMP_PATTERN.format(name="report.md"))


# -- 6. umask ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_respect_the_umask(folder, capsys, mask, mode):
    old = os.umask(mask)
    try:
        atomic_write_text(folder / "t.csv", "a,b\n")
        assert run(["evaluate", "-w", "alexnet", "--plot", "bars.png"]) == 0
        assert run([*EXH, "--json", "e.json"]) == 0
    finally:
        os.umask(old)
    for name in ("t.csv", "bars.png", "e.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode, name


# -- 7. round trip: exhaustive --json -> evaluate --design ----------------------------------------
def _evaluate_json(args: list[str], capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    assert run(["evaluate", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_exhaustive_json_designs_are_accepted_by_evaluate(folder, capsys):
    assert run([*EXH, "--json", "ex.json"]) == 0
    ex = json.loads((folder / "ex.json").read_text())
    assert ex["front"] and len(ex["front"]) == ex["front_size"]
    best = _evaluate_json(["--design", "ex.json", "-w", "resnet18"], capsys)
    assert best["design"] == ex["best"]["design"]
    # one workload, aggregate max: the exhaustive score is that workload's EDAP
    assert best["workloads"][0]["edap_j_s_mm2"] == pytest.approx(ex["best"]["score"], rel=1e-9)
    top2 = _evaluate_json(["--design", "ex.json", "--pick", "top:2", "-w", "resnet18"], capsys)
    assert top2["design"] == ex["top"][1]["design"]
    assert top2["workloads"][0]["edap_j_s_mm2"] == pytest.approx(ex["top"][1]["score"],
                                                                rel=1e-9)
    for k, entry in enumerate(ex["front"], 1):
        got = _evaluate_json(["--design", "ex.json", "--pick", f"front:{k}", "-w",
                              "resnet18"], capsys)
        assert got["design"] == entry["design"]
        r = got["workloads"][0]
        assert (r["energy_j"], r["latency_s"], got["area_mm2"]) == pytest.approx(
            (entry["energy_agg_j"], entry["latency_agg_s"], entry["area_mm2"]), rel=1e-9)
    refused(capsys, ["evaluate", "--design", "ex.json", "--pick", f"front:{k + 1}"], folder,
            f"front:{k + 1}", f"lists {k} front designs")
    refused(capsys, ["evaluate", "--design", "ex.json", "--pick", "worst"], folder,
            "--pick 'worst'", "top:K")
    (folder / "d.yaml").write_text("xbar_rows: 64\n")
    refused(capsys, ["evaluate", "--design", "d.yaml", "--pick", "best"], folder,
            "not an imcopt exhaustive --json result")


# -- 8. evaluate: throughput, efficiency, power, latency breakdown, feasibility -----------------
def test_evaluate_prints_efficiency_power_and_latency_breakdown(folder, capsys):
    data = _evaluate_json(["-w", "resnet18,alexnet"], capsys)
    assert run(["workloads", "show", "resnet18,alexnet", "--json"]) == 0
    macs = {s["name"]: s["macs"] for s in json.loads(capsys.readouterr().out)}
    for r in data["workloads"]:
        ops = 2 * macs[r["workload"]]
        assert r["power_w"] == pytest.approx(r["energy_j"] / r["latency_s"], rel=1e-12)
        assert r["tops_per_w"] == pytest.approx(ops / r["energy_j"] / 1e12, rel=1e-12)
        assert r["tops_per_mm2"] == pytest.approx(
            ops / r["latency_s"] / data["area_mm2"] / 1e12, rel=1e-12)
        assert sum(r["latency_breakdown_s"].values()) == pytest.approx(r["latency_s"], rel=1e-9)
    capsys.readouterr()
    assert run(["evaluate", "-w", "alexnet"]) == 0
    text = capsys.readouterr().out
    for needle in ("tops_per_w", "tops_per_mm2", "power_w", "latency breakdown, alexnet (s)"):
        assert needle in text


def test_evaluate_feasibility_says_why_not(folder, capsys):
    v = _evaluate_json(["-w", "resnet18", "--space", "rram-paper", "--xbar-rows", "100",
                        "--area-budget", "1"], capsys)["feasibility"]
    assert v["feasible"] is False and v["space"] == "rram-paper" and v["area_budget_mm2"] == 1
    reasons = " | ".join(v["reasons"])
    assert "not a design of the space" in reasons and "xbar_rows" in reasons
    assert "exceeds the budget 1 mm²" in reasons
    assert "resnet18: its weights do not fit" in reasons
    capsys.readouterr()
    assert run(["evaluate", "-w", "resnet18", "--area-budget", "1"]) == 0
    out = capsys.readouterr().out
    assert "feasible (area budget 1 mm²): no" in out and "exceeds the budget" in out
    for bad in ("0", "-3", "nan", "inf"):
        refused(capsys, ["evaluate", "--area-budget", bad], folder, "--area-budget",
                "positive finite")


def test_feasibility_verdict_is_the_problems_own(folder):
    """Every design of the tiny space: the verdict equals JointIMCProblem's `feasible`."""
    from problems.feasibility import check_feasibility
    from problems.hardware.cost import evaluate
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    space = SearchSpace.load("tiny.yaml")
    wl = load_workloads("resnet18")
    X = np.stack(np.unravel_index(np.arange(space.size), tuple(space.cardinalities)), axis=1)
    for budget in (150.0, 400.0):
        problem = JointIMCProblem(space, wl, ObjectiveConfig(area_budget_mm2=budget))
        expected = problem.evaluate_batch(X)["feasible"]
        assert 0 < expected.sum() < space.size  # both verdicts occur
        designs = space.decode(X)
        cost = evaluate(designs, wl, "physical")
        for i in range(space.size):
            d = designs.take(i)
            got = check_feasibility(d, wl, "physical", cost_row(cost, i), budget, space)
            assert got.feasible == bool(expected[i]), (i, got.reasons)
            assert got.feasible == (not got.reasons)


def cost_row(cost, i: int):
    from dataclasses import replace

    return replace(cost, energy_j=cost.energy_j[i:i + 1], latency_s=cost.latency_s[i:i + 1],
                   area_mm2=cost.area_mm2[i:i + 1], utilisation=cost.utilisation[i:i + 1],
                   weights_resident=cost.weights_resident[i:i + 1], valid=cost.valid[i:i + 1])

"""`imcopt evaluate`: one design from flags or YAML, per-workload metrics, JSON and plots."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from study.cli.main import cli


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_json_lists_every_workload_with_consistent_edap():
    res = _run(["evaluate", "--xbar-rows", "256", "--bits-per-cell", "2", "-w",
                "resnet18,alexnet", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["convention"] == "physical"
    assert [w["workload"] for w in data["workloads"]] == ["resnet18", "alexnet"]
    assert data["design"]["xbar_rows"] == 256 and data["design"]["bits_per_cell"] == 2
    for w in data["workloads"]:
        assert w["edap_j_s_mm2"] == pytest.approx(w["energy_j"] * w["latency_s"]
                                                  * data["area_mm2"], rel=1e-9)
        assert sum(w["energy_breakdown_j"].values()) == pytest.approx(w["energy_j"], rel=1e-9)
    assert sum(data["area_breakdown_mm2"].values()) == pytest.approx(data["area_mm2"], rel=1e-9)


def test_yaml_design_file_and_flag_override(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("design:\n  memory: SRAM\n  xbar_rows: 64\n  xbar_cols: 64\n")
    res = _run(["evaluate", "--design", str(f), "--xbar-cols", "128", "-w", "alexnet",
                "--json", "--convention", "cimloop"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["design"]["memory"] == "SRAM" and data["design"]["xbar_rows"] == 64
    assert data["design"]["xbar_cols"] == 128 and data["convention"] == "cimloop"


def test_plot_writes_png(tmp_path):
    out = tmp_path / "bars.png"
    res = _run(["evaluate", "-w", "alexnet,resnet18", "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "energy breakdown" in res.output


@pytest.mark.parametrize("args,needle", [
    (["--xbar-rows", "0"], "xbar_rows"),
    (["--technology-nm", "3"], "technology_nm"),
    (["--bits-per-cell", "9"], "bits_per_cell"),
    (["--memory", "FLASH"], "memory"),
    (["--macros-per-tile", "2.5"], "macros_per_tile"),
    (["-w", "no_such_net"], "no_such_net"),
])
def test_bad_input_is_one_clear_error_without_traceback(args, needle):
    proc = subprocess.run([sys.executable, "-m", "study.cli.main", "evaluate", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error:") and needle in proc.stderr
    assert "Traceback" not in proc.stderr

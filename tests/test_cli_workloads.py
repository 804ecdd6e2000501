"""`imcopt workloads list|show`: output content, JSON shape and error exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from problems.workloads import SETS, ZOO, get_workload
from study.cli.main import cli, main


def run(*args: str):
    result = CliRunner().invoke(cli, ["workloads", *args])
    return result


def test_list_shows_every_network_and_set() -> None:
    res = run("list")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["name", "layers", "macs_G", "weights_M"]
    for name in ZOO:
        row = next(ln for ln in lines if ln.startswith(name + " "))
        w = get_workload(name)
        assert row.split()[1] == str(w.n_layers)
        assert float(row.split()[2]) == pytest.approx(w.total_macs / 1e9, abs=1e-3)
    for name, members in SETS.items():
        assert f"{name}: {', '.join(members)}" in res.output
    data = json.loads(run("list", "--json").output)
    assert [d["name"] for d in data["workloads"]] == list(ZOO)
    assert data["sets"]["paper-4"] == list(SETS["paper-4"])


def test_show_json_single_and_several() -> None:
    res = run("show", "resnet18", "--json")
    assert res.exit_code == 0, res.output
    w = get_workload("resnet18")
    assert json.loads(res.output) == {"name": "resnet18", "n_layers": 21,
                                      "macs": w.total_macs, "weights": w.total_weights}
    data = json.loads(run("show", "paper-4,resnet50", "--json").output)
    assert isinstance(data, list) and [d["name"] for d in data] == [*SETS["paper-4"], "resnet50"]
    assert all(set(d) == {"name", "n_layers", "macs", "weights"} for d in data)
    assert data[-1]["macs"] == get_workload("resnet50").total_macs


def test_show_table_has_unit_columns_and_totals(tmp_path: Path) -> None:
    res = run("show", "alexnet")
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[1].split()
    assert header[0] == "layer" and header[-2:] == ["macs_count", "weights_count"]
    assert "features.0" in res.output
    assert "total: 8 layers, 714188480 MACs (0.714 G), 61090496 weights" in res.output
    csv = tmp_path / "t.csv"
    csv.write_text("network,C,M,R,S,P,Q\na,2,3,1,1,4,1\nb,5,5,1,1,1,1\n")
    res = run("show", str(csv))
    assert "# a (" in res.output and "# b (" in res.output
    assert "total: 1 layers, 24 MACs" in res.output


def test_errors_exit_2_without_traceback(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["workloads", "show", "resnet19"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: unknown workload 'resnet19'") and "Traceback" not in err
    assert "known networks: alexnet" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("network,layer,C,M,R,S,P,Q\nn,l0,1,-2,1,1,1,1\n")
    with pytest.raises(SystemExit) as exc:
        main(["workloads", "show", str(bad), "--json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"Error: {bad}: row 2 (network 'n', layer 'l0'): field M = -2" in err

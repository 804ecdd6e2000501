"""`imcopt spaces list|show`: every built-in space with its size; one space's values and units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from problems.spaces import SearchSpace, list_spaces
from study.cli.main import cli, main


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_list_json_sizes_match_the_variables() -> None:
    res = _run(["spaces", "list", "--json"])
    assert res.exit_code == 0, res.output
    items = json.loads(res.output)["spaces"]
    assert [s["name"] for s in items] == list_spaces()
    by_name = {s["name"]: s for s in items}
    assert by_name["rram-paper"]["size"] == 12_096_000  # the paper's number
    for s in items:
        shown = json.loads(_run(["spaces", "show", s["name"], "--json"]).output)
        assert s["size"] == int(np.prod([v["n_values"] for v in shown["variables"]]))
        assert [v["name"] for v in shown["variables"]] == s["variables"]


def test_list_table_names_every_space() -> None:
    res = _run(["spaces", "list"])
    assert res.exit_code == 0, res.output
    for name in list_spaces():
        size = SearchSpace.load(name).size
        assert any(line.split()[:2] == [name, f"{size:,}"] for line in res.output.splitlines())


def test_show_yaml_path_converts_units(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\ndescription: 'a test space (source: this test)'\nvariables:\n"
                 "  - {name: cycle_time_s, values: [2, 5], unit: ns}\n"
                 "  - {name: glb_bytes, values: [64, 128, 256], unit: KiB}\n"
                 "fixed: {memory: SRAM, voltage_v: 0.8, technology_nm: 22}\n")
    res = _run(["spaces", "show", str(f), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["size"] == 6 and d["source"] == str(f)
    assert d["description"].startswith("a test space")
    cyc, glb = d["variables"]
    assert cyc["unit"] == "s" and cyc["values"] == pytest.approx([2e-9, 5e-9])
    assert glb["unit"] == "B" and glb["values"] == [65536, 131072, 262144]
    fixed = {x["name"]: x for x in d["fixed"]}
    assert fixed["memory"]["value"] == "SRAM"
    assert fixed["voltage_v"]["value"] == 0.8 and fixed["voltage_v"]["unit"] == "V"
    assert fixed["technology_nm"]["value"] == 22
    text = _run(["spaces", "show", str(f)]).output
    assert "glb_bytes" in text and "65536, 131072, 262144" in text and "= SRAM" in text


def test_show_unknown_space_is_one_error_line(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["spaces", "show", "no-such-space"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-space" in err[0] and "rram-paper" in err[0]

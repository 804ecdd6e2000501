"""Study configuration: validation collects every problem before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from problems.errors import ImcoptError
from study.cli.main import main
from study.cli.run import quickstart_config
from study.config import load_study, parse_study

GOOD = {
    "name": "ok",
    "budget": 100,
    "seeds": 3,
    "scenarios": [{"name": "s1", "space": "rram-paper", "workloads": "paper-4",
                   "aggregate": "max", "constraints": {"area_budget_mm2": 500},
                   "fixed": {"technology_nm": 22}, "exact_optimum": False}],
    "algorithms": ["paper-ga", {"name": "ga", "label": "ga-small", "params": {"pop_size": 20}}],
}


def test_valid_config_is_parsed(tmp_path: Path) -> None:
    cfg = parse_study({**GOOD, "output": str(tmp_path / "out")})
    assert cfg.seeds == [0, 1, 2]
    assert cfg.budget == 100
    assert cfg.convention == "physical"
    assert cfg.output == (tmp_path / "out").absolute()
    sc = cfg.scenarios[0]
    assert sc.area_budget_mm2 == 500.0 and sc.fixed == {"technology_nm": 22}
    assert [a.label for a in cfg.algorithms] == ["paper-ga", "ga-small"]
    assert cfg.algorithms[1].params == {"pop_size": 20}
    short = parse_study({**GOOD, "output": str(tmp_path), "scenarios": [
        {**GOOD["scenarios"][0], "fixed": {}, "technology_nm": 45, "memory": "SRAM"}]})
    assert short.scenarios[0].fixed == {"technology_nm": 45, "memory": "SRAM"}
    with pytest.raises(ImcoptError, match="contradicts fixed.technology_nm"):
        parse_study({**GOOD, "output": str(tmp_path), "scenarios": [
            {**GOOD["scenarios"][0], "technology_nm": 45}]})
    # round trip through the stored form
    again = parse_study(cfg.to_dict(), check_names=False)
    assert again.to_dict() == cfg.to_dict()


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("x")
    bad = {
        "name": "bad", "output": str(afile / "sub"), "budget": 0, "seeds": [],
        "convention": "nope", "colour": "red",
        "scenarios": [
            {"name": "s1", "space": "no-such-space", "workloads": "no-such-net",
             "aggregate": "median", "typo_key": 1, "constraints": {"area_mm2": 5},
             "fixed": {"voltage_v": 99}},
            {"name": "s2", "space": "rram-paper", "workloads": "paper-4",
             "aggregate": "weighted", "exact_optimum": "yes"},
        ],
        "algorithms": ["not-an-algorithm", {"name": "ga", "params": {"bogus": 1}, "x": 2}],
    }
    with pytest.raises(ImcoptError) as exc:
        parse_study(bad)
    msg = str(exc.value)
    expected = [
        "unknown key(s) ['colour']", "a-file' is a file", "budget: must be a positive",
        "seeds: the list is empty", "convention: unknown 'nope'",
        "unknown key(s) ['typo_key']", "unknown search space 'no-such-space'",
        "no-such-net", "unknown aggregation 'median'", "unknown key(s) ['area_mm2']",
        "voltage_v = 99", "needs 'weights'", "exact_optimum: must be true or false",
        "unknown algorithm 'not-an-algorithm'", "unknown parameter(s) ['bogus']",
        "unknown key(s) ['x']",
    ]
    missing = [e for e in expected if e not in msg]
    assert not missing, msg
    assert f"{len(expected)} problem(s)" in msg


@pytest.mark.parametrize("seeds, problem", [
    (0, "count must be positive"), ([1, "2"], "non-negative integer"),
    ([1, 1], "duplicate seeds"), (2.5, "positive count or a list"), ([True], "non-negative"),
])
def test_bad_seeds(seeds: object, problem: str, tmp_path: Path) -> None:
    with pytest.raises(ImcoptError, match=problem):
        parse_study({**GOOD, "output": str(tmp_path), "seeds": seeds})


def test_duplicate_names_and_bad_weights(tmp_path: Path) -> None:
    sc = GOOD["scenarios"][0]
    data = {**GOOD, "output": str(tmp_path),
            "scenarios": [sc, {**sc, "aggregate": "weighted", "weights": [1, 2]}],
            "algorithms": ["ga", "ga"]}
    with pytest.raises(ImcoptError) as exc:
        parse_study(data)
    msg = str(exc.value)
    assert "duplicate scenario names ['s1']" in msg
    assert "2 weights for 4 workloads" in msg
    assert "duplicate labels ['ga']" in msg


def test_load_study_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ImcoptError, match="does not exist"):
        load_study(tmp_path / "missing.yaml")
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ImcoptError, match="not valid YAML"):
        load_study(p)
    p.write_text("- a list\n")
    with pytest.raises(ImcoptError, match="must be a mapping"):
        load_study(p)


def test_quickstart_config_is_valid() -> None:
    cfg = load_study(quickstart_config())
    assert [a.name for a in cfg.algorithms] == ["paper-ga", "nsga2", "ga", "random-search"]
    assert cfg.seeds == [0, 1, 2, 3, 4]
    (sc,) = cfg.scenarios
    assert (sc.space, sc.workloads, sc.aggregate) == ("rram-paper", "paper-4", "max")


def test_cli_reports_all_problems_without_traceback(tmp_path: Path, capsys) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({**GOOD, "output": str(tmp_path / "o"), "budget": -5,
                                 "algorithms": ["nope"]}))
    with pytest.raises(SystemExit) as exc:
        main(["run", str(p)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ")
    assert "budget" in err and "unknown algorithm 'nope'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing ran


def test_cli_rejects_bad_jobs(tmp_path: Path, capsys) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(yaml.safe_dump({**GOOD, "output": str(tmp_path / "o")}))
    with pytest.raises(SystemExit) as exc:
        main(["run", str(p), "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

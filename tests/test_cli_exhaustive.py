"""`imcopt exhaustive`: output, JSON file, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers_search import tiny_space

pytest.importorskip("problems.workloads.resolve")  # load_workloads (workloads engineer)

from study.cli.main import main  # noqa: E402


@pytest.fixture()
def space_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_space().to_dict()))
    return p


def test_cli_prints_and_writes_json(space_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "res.json"
    out.parent.mkdir()
    main(["exhaustive", "--space", str(space_file), "--workloads", "resnet18,alexnet",
          "--aggregate", "mean", "--top-k", "3", "--chunk", "100", "--json", str(out),
          "--no-progress"])
    text = capsys.readouterr().out
    assert "searched 256 designs" in text and "Pareto front" in text
    data = json.loads(out.read_text())
    assert {"space", "workloads", "aggregate", "n_designs", "n_feasible", "seconds", "best",
            "top"} <= set(data)
    assert data["workloads"] == ["resnet18", "alexnet"] and data["n_designs"] == 256
    assert data["aggregate"] == "mean"
    if data["n_feasible"]:
        assert data["best"]["score"] == data["top"][0]["score"] > 0
        assert data["best"]["design"]["memory"] == "RRAM"
        assert len(data["top"]) == min(3, data["n_feasible"])
        scores = [t["score"] for t in data["top"]]
        assert scores == sorted(scores)
    else:
        assert data["best"]["score"] is None
    assert [p.name for p in out.parent.iterdir()] == ["res.json"]  # no temp file left
    assert "workload specialists (cached)" in text
    assert len(list((tmp_path / "cache" / "specialists").glob("*.json"))) == 1


@pytest.mark.parametrize("args,match", [
    (["--aggregate", "median"], "--aggregate"),
    (["--convention", "exact"], "--convention"),
    (["--top-k", "0"], "--top-k"),
    (["--chunk", "-5"], "--chunk"),
    (["--aggregate", "weighted", "--weights", "1,x"], "--weights"),
    (["--aggregate", "weighted", "--weights", "1,2,3"], "weights"),
])
def test_cli_bad_arguments_exit_2(space_file: Path, capsys: pytest.CaptureFixture[str],
                                  args: list[str], match: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["exhaustive", "--space", str(space_file), "--workloads", "resnet18,alexnet",
              "--no-progress", *args])
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_cli_unknown_space(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["exhaustive", "--space", "nope", "--workloads", "resnet18", "--no-progress"])
    assert info.value.code == 2 and "unknown search space" in capsys.readouterr().err

"""Packaging: run-time data ships in the wheel and is found via importlib.resources; configs/
links to it (one source of truth); a missing data file is an error; the cache lives in the
user cache folder (or $IMCOPT_CACHE_DIR) and an unwritable one fails before any work."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import problems
import study
from problems.errors import ImcoptError
from problems.spaces import SearchSpace, list_spaces, spaces_dir

ROOT = Path(__file__).resolve().parents[1]
#: package folders whose every file must be in the wheel
DATA_DIRS = ("problems/data/spaces", "problems/hardware/data", "study/data")


def _data_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for d in DATA_DIRS for p in (ROOT / d).iterdir()
                  if p.is_file())


@pytest.mark.slow
def test_wheel_contains_every_data_file(tmp_path: Path) -> None:
    # build from a copy without build/ leftovers, which setuptools would otherwise reuse
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "results", "__pycache__", ".*cache*",
        ".hypothesis"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                           "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "dist").glob("imcopt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    files = _data_files()
    assert "problems/hardware/data/cimloop_average_inputs.csv" in files
    assert "problems/hardware/data/cimloop_calibration.json" in files
    assert "study/data/quickstart.yaml" in files
    assert [f for f in files if f not in names] == []
    assert not any(n.startswith(("configs/", "tests/")) for n in names)


def test_configs_link_to_the_package_data() -> None:
    assert (ROOT / "configs" / "spaces").resolve() == spaces_dir().resolve()
    assert (ROOT / "configs" / "quickstart.yaml").resolve() == \
        (ROOT / "study" / "data" / "quickstart.yaml").resolve()
    assert sorted(p.stem for p in (ROOT / "configs" / "spaces").glob("*.yaml")) == list_spaces()


def test_data_is_found_from_any_working_directory(tmp_path: Path, monkeypatch) -> None:
    from study.cli.run import quickstart_config
    from study.config import load_study

    monkeypatch.chdir(tmp_path)
    assert spaces_dir().is_relative_to(Path(problems.__file__).resolve().parent)
    assert quickstart_config().is_relative_to(Path(study.__file__).resolve().parent)
    cfg = load_study(quickstart_config())
    assert cfg.output == tmp_path / "results" / "quickstart"  # under the cwd, as documented
    assert SearchSpace.load("rram-paper").size == 12_096_000


CONFIGS = sorted(p for p in (ROOT / "configs").glob("**/*.yaml")
                 if "spaces" not in p.relative_to(ROOT / "configs").parts)


def _space_refs(node: object) -> list[str]:
    """Every value of a ``space`` key anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        own = [node["space"]] if isinstance(node.get("space"), str) else []
        return own + [r for v in node.values() for r in _space_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _space_refs(v)]
    return []


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_configs_find_their_spaces_by_name(config: Path, tmp_path: Path, monkeypatch) -> None:
    from problems.io import read_yaml
    from study.config import parse_study

    data = read_yaml(config, "config")
    monkeypatch.chdir(tmp_path)  # names resolve through the package, not the cwd
    refs = _space_refs(data)
    assert refs, f"{config} names no space"
    assert [r for r in refs if r not in list_spaces()] == []
    if "scenarios" in data:  # a study: it must also validate as one
        cfg = parse_study(data, str(config), check_output=False)
        assert [sc.space for sc in cfg.scenarios] == refs


def test_missing_data_is_an_error_naming_the_file(tmp_path: Path, monkeypatch) -> None:
    import problems.package_data as pd_mod
    from study.cli.run import quickstart_config

    monkeypatch.setattr(pd_mod, "files", lambda package: tmp_path / package)
    with pytest.raises(ImcoptError, match="problems/data/spaces is missing"):
        list_spaces()
    with pytest.raises(ImcoptError, match="problems/data/spaces is missing"):
        SearchSpace.load("rram-paper")
    with pytest.raises(ImcoptError, match="study/data/quickstart.yaml is missing"):
        quickstart_config()
    (tmp_path / "problems" / "data" / "spaces").mkdir(parents=True)
    with pytest.raises(ImcoptError, match="no built-in search spaces"):
        list_spaces()


# -- cache directory ----------------------------------------------------------------------
def test_cache_dir_env_then_user_cache(tmp_path: Path, monkeypatch) -> None:
    from problems.specialists import cache_dir

    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("IMCOPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "imcopt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    d = cache_dir().resolve()
    assert d.name == "imcopt"
    assert not d.is_relative_to(ROOT)
    assert not d.is_relative_to(Path(problems.__file__).resolve().parents[1])


def _tiny_space(tmp_path: Path) -> Path:
    f = tmp_path / "tiny.yaml"
    f.write_text("name: tiny\nvariables:\n"
                 "  - {name: xbar_rows, values: [64, 128], unit: rows}\n"
                 "  - {name: macros_per_tile, values: [8, 16], unit: macros}\n"
                 "fixed: {memory: SRAM, bits_per_cell: 1}\n")
    return f


def test_unwritable_cache_fails_before_the_enumeration(tmp_path: Path, monkeypatch) -> None:
    import problems.exhaustive as exh
    from problems.objectives import ObjectiveConfig
    from problems.specialists import find_specialists
    from problems.workloads import load_workloads

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(blocker / "cache"))

    def boom(*a, **k):
        raise AssertionError("enumeration started before the cache was checked")

    monkeypatch.setattr(exh, "exhaustive_search", boom)
    space = SearchSpace.load(_tiny_space(tmp_path))
    with pytest.raises(ImcoptError, match=r"^cannot write .*cache folder, from IMCOPT_CACHE_DIR"):
        find_specialists(space, load_workloads("alexnet"), ObjectiveConfig())


def test_unwritable_cache_cli_error_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    # the normalized objective needs the specialists cache: one Error line, exit 2, no output
    from study.cli.main import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(blocker / "cache"))
    out = tmp_path / "best.json"
    with pytest.raises(SystemExit) as exc:
        main(["exhaustive", "--space", str(_tiny_space(tmp_path)), "--workloads",
              "alexnet,resnet18", "--aggregate", "normalized", "--no-progress",
              "--json", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("Error: cannot write ") and "IMCOPT_CACHE_DIR" in err[-1]
    assert not out.exists()


def test_writable_cache_is_used(tmp_path: Path, monkeypatch) -> None:
    from problems.objectives import ObjectiveConfig
    from problems.specialists import find_specialists
    from problems.workloads import load_workloads

    monkeypatch.setenv("IMCOPT_CACHE_DIR", str(tmp_path / "new" / "cache"))
    space = SearchSpace.load(_tiny_space(tmp_path))
    spec = find_specialists(space, load_workloads("alexnet"), ObjectiveConfig())
    (entry,) = (tmp_path / "new" / "cache" / "specialists").glob("*.json")
    assert entry.stem == spec.key
    assert np.all(spec.x >= 0)

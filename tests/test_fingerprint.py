"""Cached optima are keyed on the cost-model files each convention really uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import problems
from problems.errors import ImcoptError
from problems.hardware.registry import COST_MODELS, get_cost_model
from problems.specialists import model_fingerprint


def test_every_listed_model_file_exists():
    root = Path(problems.__file__).resolve().parent / "hardware"
    for name, model in COST_MODELS.items():
        assert model.name == name
        for f in model.files:
            assert (root / f).is_file(), f"{name}: {f} missing"


def test_conventions_have_distinct_fingerprints():
    fps = {c: model_fingerprint(c) for c in COST_MODELS}
    assert len(set(fps.values())) == len(fps)
    assert model_fingerprint() not in fps.values()
    with pytest.raises(ImcoptError, match="unknown accounting convention"):
        model_fingerprint("zigzag")


def test_fingerprint_follows_file_content(tmp_path):
    """A copy of the files gives the same fingerprint; one changed data byte changes only the
    convention that reads it; a missing file is an error naming it."""
    src = Path(problems.__file__).resolve().parent / "hardware"
    root = tmp_path / "hardware"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("__pycache__"))
    cim, phy = get_cost_model("cimloop"), get_cost_model("physical")
    assert cim.fingerprint(root) == cim.fingerprint()
    assert phy.fingerprint(root) == phy.fingerprint()
    csv = root / "data" / "cimloop_average_inputs.csv"
    csv.write_text(csv.read_text() + "\n")
    assert cim.fingerprint(root) != cim.fingerprint()
    assert phy.fingerprint(root) == phy.fingerprint()
    csv.unlink()
    with pytest.raises(ImcoptError, match="cimloop_average_inputs.csv"):
        cim.fingerprint(root)

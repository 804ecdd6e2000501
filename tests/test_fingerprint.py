"""Cached optima are keyed on the cost-model files each convention really uses."""

from __future__ import annotations

from pathlib import Path

import problems
from problems.specialists import MODEL_FILES, model_fingerprint


def test_every_listed_model_file_exists():
    root = Path(problems.__file__).resolve().parent / "hardware"
    for convention, files in MODEL_FILES.items():
        for f in files:
            assert (root / f).is_file(), f"{convention}: {f} missing"


def test_conventions_have_distinct_fingerprints():
    fps = {c: model_fingerprint(c) for c in MODEL_FILES}
    assert len(set(fps.values())) == len(fps)
    assert model_fingerprint() not in fps.values()
    assert model_fingerprint("physical") == model_fingerprint("physical")

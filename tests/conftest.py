"""Shared fixtures. Tests that need ../shared/reference skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from problems.reference import reference_dir as _reference_dir


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = _reference_dir()
    if path is None:
        pytest.skip("../shared/reference not present")
    return path


@pytest.fixture(scope="session")
def reference_results(reference_dir: Path):
    import pandas as pd

    return pd.read_csv(reference_dir / "cimloop_results.csv")


@pytest.fixture(scope="session")
def reference_layers(reference_dir: Path):
    import pandas as pd

    return pd.read_csv(reference_dir / "cimloop_layers.csv")

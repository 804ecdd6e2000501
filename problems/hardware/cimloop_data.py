"""Data files of the ``cimloop`` convention, read through importlib.resources.

- ``data/cimloop_calibration.json``: the constants CIMLOOP_MODEL.md cannot give, fitted by
  `problems.hardware.calibration` (``scripts/fit_cimloop.py``), with provenance;
- ``data/cimloop_average_inputs.csv``: the per-layer average input value ai (CM §4) of
  CiMLoop's networks, from their input histograms (``scripts/cimloop_average_inputs.py``).

A missing built-in file is an ImcoptError naming it (never a silent fallback).
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from problems.errors import ImcoptError
from problems.hardware import cimloop_components as cc
from problems.hardware.model import data_file
from problems.workloads.stack import WorkloadStack

CALIBRATION_FILE = "cimloop_calibration.json"
AVERAGE_INPUTS_FILE = "cimloop_average_inputs.csv"
DATA_FILES: tuple[str, ...] = (CALIBRATION_FILE, AVERAGE_INPUTS_FILE)
#: where scripts/fit_cimloop.py writes the calibration in a source checkout
CALIBRATION_PATH = Path(__file__).with_name("data") / CALIBRATION_FILE
_SHAPE = ("C", "M", "R", "S", "P", "Q", "G")
AVERAGE_INPUT_COLUMNS: tuple[str, ...] = ("network", "layer", *_SHAPE, "average_input_value")


# -- calibration -------------------------------------------------------------------------
def _parse_json(text: str, where: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImcoptError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ImcoptError(f"{where}: expected a JSON object")
    return data


@lru_cache(maxsize=4)
def _load_calibration(path: str | None) -> dict:
    if path is None:
        return _parse_json(data_file(CALIBRATION_FILE).read_text(),
                           f"problems/hardware/data/{CALIBRATION_FILE}")
    p = Path(path)
    if not p.is_file():
        raise ImcoptError(f"calibration file {p} does not exist")
    return _parse_json(p.read_text(), str(p))


def load_calibration(path: str | Path | None = None) -> dict:
    """The calibration dict: the built-in file by default, or the JSON file at ``path``."""
    return _load_calibration(None if path is None else str(path))


# -- average input values ----------------------------------------------------------------
@lru_cache(maxsize=4)
def _average_input_table(path: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if path is None:
        where = f"problems/hardware/data/{AVERAGE_INPUTS_FILE}"
        text = data_file(AVERAGE_INPUTS_FILE).read_text()
    else:
        p = Path(path)
        if not p.is_file():
            raise ImcoptError(f"average-input table {p} does not exist")
        where = str(p)
        try:
            text = p.read_text()
        except UnicodeDecodeError as exc:
            raise ImcoptError(f"average-input table {p}: cannot parse as CSV ({exc})") from exc
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImcoptError(f"average-input table {where}: cannot parse as CSV ({exc})") from exc
    missing = [c for c in AVERAGE_INPUT_COLUMNS if c not in df.columns]
    if missing:
        raise ImcoptError(f"average-input table {where}: missing column(s) {missing} "
                          f"(write it with scripts/cimloop_average_inputs.py)")
    ai = pd.to_numeric(df["average_input_value"], errors="coerce")
    if ai.isna().any() or ((ai < 0) | (ai > 1)).any():
        row = int(np.flatnonzero(ai.isna() | (ai < 0) | (ai > 1))[0])
        raise ImcoptError(f"average-input table {where}, row {row + 2}: average_input_value "
                          f"must be a number in [0, 1]")
    df = df.sort_values(["network", "layer"])
    return {str(net): (g[list(_SHAPE)].to_numpy(np.int64),
                       g["average_input_value"].to_numpy(float))
            for net, g in df.groupby("network")}


def average_input_values(stack: WorkloadStack, path: str | Path | None = None) -> np.ndarray:
    """Per-layer average input value ai (CM §4), shape (n_layers,).

    From ``path`` (default: the built-in table, written from CiMLoop's input histograms by
    ``scripts/cimloop_average_inputs.py``) for a workload whose name and every layer shape
    match a network there; the documented median ``cc.AVG_INPUT`` for other workloads."""
    table = _average_input_table(None if path is None else str(path))
    out = np.full(stack.n_layers, cc.AVG_INPUT)
    for i, name in enumerate(stack.names):
        sel = np.flatnonzero(stack.workload_index == i)
        if name not in table or table[name][0].shape[0] != sel.size:
            continue
        shape = np.stack([getattr(stack, d)[sel] for d in _SHAPE], 1)
        if np.array_equal(shape, table[name][0]):
            out[sel] = table[name][1]
    return out

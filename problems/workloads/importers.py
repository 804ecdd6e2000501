"""Read workloads from files: layer-table CSV, Timeloop/CiMLoop problem YAML folders, ONNX.

Every bad input raises `ImcoptError` naming the file, the row or layer, and the field.

- ``load_csv``: the schema of CiMLoop's ``cimloop_layers.csv`` (network, layer, N, C, M, R, S,
  P, Q, G, h_stride, w_stride, h_dilation, w_dilation, input_bits, weight_bits, output_bits,
  macs, weights; plus an optional ``dynamic`` column). C, M, R, S, P, Q are required; the
  others default (N = G = strides = dilations = 1, 8 bits). Without a ``network`` column the
  file stem names the network. ``macs`` / ``weights``, when present, are checked.
- ``load_problem_dir``: one Timeloop problem YAML per layer (v0.4 ``problem: {version: 0.4,
  instance: {...}}``, the older ``problem: {instance: {...}}`` or flat ``problem: {C: ..}``;
  ``HStride``/``Hstride``/``Wstride``/``Hdilation`` spellings; ``K`` for M). CiMLoop's Jinja
  include lines and ``<<<:`` merge keys are skipped. Files sorted naturally; network name =
  folder name.
- ``load_onnx`` (in `problems.workloads.onnx_import`): Conv, ConvTranspose, Gemm, MatMul; other ops
  that carry weights are errors unless skipped explicitly.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from problems.errors import ImcoptError, short
from problems.io import DuplicateKeyError, parse_yaml, yaml_error_message
from problems.workloads.layers import DEFAULTS, INT_FIELDS, Workload

__all__ = ["load_csv", "load_problem_dir", "load_problem_yaml", "load_onnx", "natural_key"]

REQUIRED_FIELDS: tuple[str, ...] = ("C", "M", "R", "S", "P", "Q")
CSV_COLUMNS: tuple[str, ...] = ("network", "layer", *INT_FIELDS, "dynamic", "macs", "weights")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def natural_key(name: str) -> list[Any]:
    """Sort key that orders 'layer2' before 'layer10'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _positive_int(value: Any, where: str, field: str) -> int:
    """Parse a positive integer, or raise naming ``where`` and ``field``."""
    if isinstance(value, bool):
        raise ImcoptError(f"{where}: field {field} = {short(value)} is not an integer")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ImcoptError(
                    f"{where}: field {field} = {short(text)} is not an integer") from None
    if isinstance(value, float | np.floating):
        if not math.isfinite(value) or value != int(value):
            raise ImcoptError(f"{where}: field {field} = {short(value)} is not an integer")
        value = int(value)
    if not isinstance(value, int | np.integer):
        raise ImcoptError(f"{where}: field {field} = {short(value)} is not an integer")
    if value <= 0:
        raise ImcoptError(f"{where}: field {field} = {value} must be a positive integer")
    return int(value)


# ------------------------------------------------------------------------------------ CSV
def load_csv(path: str | Path) -> list[Workload]:
    """Layer-table CSV -> one Workload per ``network`` (in order of first appearance)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImcoptError(f"{path}: cannot read CSV: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ImcoptError(f"{path}: empty CSV (expected a header with "
                          f"{', '.join(REQUIRED_FIELDS)})")
    header = [h.strip() for h in rows[0]]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImcoptError(f"{path}: unknown column(s) {unknown}; allowed: {', '.join(CSV_COLUMNS)}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise ImcoptError(f"{path}: duplicate column(s) {dup}")
    missing = [f for f in REQUIRED_FIELDS if f not in header]
    if missing:
        raise ImcoptError(f"{path}: missing required column(s) {missing}")
    if len(rows) == 1:
        raise ImcoptError(f"{path}: no layer rows after the header")

    groups: dict[str, list[dict]] = {}
    for line_no, raw in enumerate(rows[1:], start=2):
        if len(raw) != len(header):
            raise ImcoptError(f"{path}: row {line_no} has {len(raw)} cells, header has "
                              f"{len(header)}")
        cells = dict(zip(header, (c.strip() for c in raw), strict=True))
        network = cells.get("network") or path.stem
        layer = cells.get("layer") or str(len(groups.get(network, [])))
        where = f"{path}: row {line_no} (network '{network}', layer '{layer}')"
        rec: dict[str, Any] = {"layer": layer}
        for f in INT_FIELDS:
            text = cells.get(f, "")
            if text == "":
                if f not in DEFAULTS:
                    raise ImcoptError(f"{where}: field {f} is empty")
                rec[f] = DEFAULTS[f]
            else:
                rec[f] = _positive_int(text, where, f)
        dyn = cells.get("dynamic", "").lower()
        if dyn not in _TRUE | _FALSE:
            raise ImcoptError(f"{where}: field dynamic = {short(dyn)} is not a boolean")
        rec["dynamic"] = dyn in _TRUE
        macs = math.prod(rec[f] for f in ("N", "C", "M", "R", "S", "P", "Q", "G"))
        weights = math.prod(rec[f] for f in ("C", "M", "R", "S", "G"))
        for f, expected in (("macs", macs), ("weights", weights)):
            if cells.get(f, "") != "":
                given = _positive_int(cells[f], where, f)
                if given != expected:
                    raise ImcoptError(f"{where}: field {f} = {given} but the dimensions give "
                                      f"{expected}")
        groups.setdefault(network, []).append(rec)
    return [Workload.from_records(name, recs, source=str(path)) for name, recs in groups.items()]


# ------------------------------------------------------------------------- Timeloop YAML
#: lower-cased Timeloop instance key -> Workload field
_YAML_KEYS: dict[str, str] = {
    "n": "N", "c": "C", "m": "M", "k": "M", "r": "R", "s": "S", "p": "P", "q": "Q", "g": "G",
    "hstride": "h_stride", "wstride": "w_stride", "hdilation": "h_dilation",
    "wdilation": "w_dilation", "h_stride": "h_stride", "w_stride": "w_stride",
    "h_dilation": "h_dilation", "w_dilation": "w_dilation",
    "input_bits": "input_bits", "weight_bits": "weight_bits", "output_bits": "output_bits",
}
_JINJA_LINE = re.compile(r"^\s*(\{\{.*\}\}|\{%.*%\})\s*$")
_MERGE_LINE = re.compile(r"^\s*<<<?\s*:\s*\*\w+\s*$")


def _read_yaml(path: Path) -> Any:
    """Parse YAML, skipping CiMLoop's Jinja include lines and ``<<<: *anchor`` merges.

    The same duplicate-key check as every other YAML file (`problems.io.parse_yaml`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImcoptError(f"{path}: cannot read YAML: {exc}") from None
    try:
        return parse_yaml(text)
    except DuplicateKeyError as exc:
        raise ImcoptError(f"{path}: invalid YAML{yaml_error_message(exc)}") from None
    except yaml.YAMLError:
        pass  # retry without CiMLoop's template lines (which plain YAML cannot parse)
    lines = ["" if (_JINJA_LINE.match(ln) or _MERGE_LINE.match(ln)) else ln
             for ln in text.splitlines()]
    try:
        return parse_yaml("\n".join(lines))
    except yaml.YAMLError as exc:
        raise ImcoptError(f"{path}: invalid YAML{yaml_error_message(exc)}") from None


def _problem_record(data: Any, path: Path, layer: str) -> dict[str, Any]:
    """Extract one layer record from a parsed Timeloop problem document."""
    where = f"{path}: layer '{layer}'"
    if not isinstance(data, Mapping):
        raise ImcoptError(f"{where}: expected a mapping with a 'problem' key")
    prob = data.get("problem", data)
    if not isinstance(prob, Mapping):
        raise ImcoptError(f"{where}: field problem is not a mapping")
    inst = prob.get("instance", prob)
    if not isinstance(inst, Mapping):
        raise ImcoptError(f"{where}: field problem.instance is not a mapping")
    rec: dict[str, Any] = {"layer": layer}
    for key, value in inst.items():
        field = _YAML_KEYS.get(str(key).lower())
        if field is None:
            continue  # densities, coefficients, names: not shape
        if field in rec:
            raise ImcoptError(f"{where}: field {field} given twice (as '{key}')")
        rec[field] = _positive_int(value, where, f"instance.{key}")
    missing = [f for f in REQUIRED_FIELDS if f not in rec]
    if missing:
        raise ImcoptError(f"{where}: problem instance is missing field(s) {missing}")
    for f, v in DEFAULTS.items():
        rec.setdefault(f, v)
    return rec


def load_problem_yaml(path: str | Path, name: str | None = None) -> Workload:
    """One Timeloop problem YAML file -> a one-layer Workload (named after the file)."""
    path = Path(path)
    rec = _problem_record(_read_yaml(path), path, path.stem)
    return Workload.from_records(name or path.stem, [rec], source=str(path))


def load_problem_dir(path: str | Path) -> Workload:
    """A folder of Timeloop problem YAMLs (one per layer, natural order) -> one Workload."""
    path = Path(path)
    if not path.is_dir():
        raise ImcoptError(f"{path}: not a directory of problem YAML files")
    files = sorted((p for p in path.iterdir()
                    if p.is_file() and p.suffix.lower() in (".yaml", ".yml")),
                   key=lambda p: natural_key(p.name))
    if not files:
        raise ImcoptError(f"{path}: no .yaml/.yml problem files in this directory")
    records = [_problem_record(_read_yaml(f), f, f.stem) for f in files]
    return Workload.from_records(path.name, records, source=str(path))


# ONNX models: problems.workloads.onnx_import (re-exported here)
from problems.workloads.onnx_import import load_onnx  # noqa: E402

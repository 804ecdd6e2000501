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
- ``load_onnx``: Conv, Gemm, MatMul (constant initializer = weights; two activations =
  ``dynamic`` attention-style matmul). Shapes from ``onnx.shape_inference``.
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


# ------------------------------------------------------------------------------------ ONNX
def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImcoptError("reading ONNX models needs the optional dependency 'onnx': "
                          "pip install 'imcopt[onnx]'") from None
    return onnx


def load_onnx(path: str | Path, dims: Mapping[str, int] | None = None,
              name: str | None = None) -> Workload:
    """ONNX model -> Workload of its Conv / Gemm / MatMul nodes (graph order).

    ``dims`` gives values for symbolic dimensions (e.g. ``{"batch": 1}``).
    """
    onnx = _import_onnx()
    path = Path(path)
    dims = dict(dims or {})
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, OSError, ...
        raise ImcoptError(f"{path}: cannot read ONNX model: {exc}") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        raise ImcoptError(f"{path}: ONNX shape inference failed: {exc}") from None
    graph = model.graph
    inits = {t.name: [int(d) for d in t.dims] for t in graph.initializer}
    shapes: dict[str, list[int | str | None]] = {}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value")
                           else (d.dim_param or None) for d in tt.shape.dim]
    shapes.update(inits)

    def shape_of(tensor: str, where: str, what: str) -> list[int]:
        if tensor not in shapes:
            raise ImcoptError(f"{where}: field {what}: shape of tensor '{tensor}' is unknown "
                              f"(shape inference could not derive it)")
        out = []
        for i, d in enumerate(shapes[tensor]):
            if isinstance(d, str) and d in dims:
                d = dims[d]
            if not isinstance(d, int) or d <= 0:
                hint = f"; pass dims={{'{d}': ...}}" if isinstance(d, str) else ""
                raise ImcoptError(f"{where}: field {what}: dimension {i} of tensor '{tensor}' "
                                  f"is {d!r}, not a known positive size{hint}")
            out.append(d)
        return out

    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for idx, node in enumerate(graph.node):
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        layer = node.name or f"{node.op_type}_{idx}"
        while layer in used:
            layer += "_"
        used.add(layer)
        where = f"{path}: layer '{layer}' ({node.op_type})"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            rec = _onnx_conv(node, attrs, shape_of, where)
            rec["dynamic"] = node.input[1] not in inits
        elif node.op_type == "Gemm":
            rec = _onnx_gemm(node, attrs, shape_of, inits, where)
        else:
            rec = _onnx_matmul(node, shape_of, inits, where)
        rec["layer"] = layer
        records.append(rec)
    if not records:
        raise ImcoptError(f"{path}: no Conv, Gemm or MatMul nodes in the ONNX graph")
    return Workload.from_records(name or path.stem, records, source=str(path))


def _onnx_conv(node: Any, attrs: dict, shape_of: Any, where: str) -> dict[str, Any]:
    x = shape_of(node.input[0], where, "input")
    w = shape_of(node.input[1], where, "weight")
    if len(w) not in (3, 4) or len(x) != len(w):
        raise ImcoptError(f"{where}: field weight: only 1-D/2-D convolutions are supported "
                          f"(weight shape {w}, input shape {x})")
    spatial = len(w) - 2
    groups = int(attrs.get("group", 1))
    strides = list(attrs.get("strides", [1] * spatial))
    dil = list(attrs.get("dilations", [1] * spatial))
    pads = list(attrs.get("pads", [0] * 2 * spatial))
    m_total, c_per_group, *kernel = w
    if groups <= 0 or m_total % groups or x[1] != c_per_group * groups:
        raise ImcoptError(f"{where}: field group = {groups} does not fit input channels "
                          f"{x[1]} and weight shape {w}")
    try:
        out = shape_of(node.output[0], where, "output")[2:]
    except ImcoptError:
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise
        out = [(x[2 + i] + pads[i] + pads[i + spatial] - dil[i] * (kernel[i] - 1) - 1)
               // strides[i] + 1 for i in range(spatial)]
    if spatial == 1:
        kernel, out, strides, dil = [kernel[0], 1], [out[0], 1], [strides[0], 1], [dil[0], 1]
    return {"N": x[0], "C": c_per_group, "M": m_total // groups, "R": kernel[0],
            "S": kernel[1], "P": out[0], "Q": out[1], "G": groups,
            "h_stride": strides[0], "w_stride": strides[1],
            "h_dilation": dil[0], "w_dilation": dil[1]}


def _onnx_gemm(node: Any, attrs: dict, shape_of: Any, inits: dict,
               where: str) -> dict[str, Any]:
    a = shape_of(node.input[0], where, "A")
    b = shape_of(node.input[1], where, "B")
    if len(a) != 2 or len(b) != 2:
        raise ImcoptError(f"{where}: field A/B: Gemm needs rank-2 inputs, got {a} and {b}")
    rows, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
    kb, m = (b[1], b[0]) if attrs.get("transB", 0) else (b[0], b[1])
    if k != kb:
        raise ImcoptError(f"{where}: field B: inner dimensions differ ({k} vs {kb})")
    dynamic = node.input[1] not in inits and node.input[0] not in inits
    return {"N": 1, "C": k, "M": m, "R": 1, "S": 1, "P": rows, "Q": 1, "dynamic": dynamic}


def _onnx_matmul(node: Any, shape_of: Any, inits: dict, where: str) -> dict[str, Any]:
    a = shape_of(node.input[0], where, "A")
    b = shape_of(node.input[1], where, "B")
    if len(a) < 1 or len(b) < 1 or len(a) > 4 or len(b) > 4:
        raise ImcoptError(f"{where}: field A/B: MatMul ranks {len(a)} and {len(b)} unsupported "
                          f"(1 to 4)")
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    if a[-1] != b[-2]:
        raise ImcoptError(f"{where}: field B: inner dimensions differ ({a[-1]} vs {b[-2]})")
    k, m, rows = a[-1], b[-1], a[-2]
    if node.input[1] in inits:  # activations x constant weight matrix
        return {"N": math.prod(a[:-2]), "C": k, "M": m, "R": 1, "S": 1, "P": rows, "Q": 1,
                "G": math.prod(b[:-2]), "dynamic": False}
    if node.input[0] in inits:  # constant on the left: W[M,K] @ X[K,T] -> out features = rows
        return {"N": math.prod(b[:-2]), "C": k, "M": rows, "R": 1, "S": 1, "P": m, "Q": 1,
                "G": math.prod(a[:-2]), "dynamic": False}
    # two activations (attention Q.K^T, A.V): batch -> N, heads -> G
    batch = [max(x, y) for x, y in zip(_pad(a[:-2], 2), _pad(b[:-2], 2), strict=True)]
    if len(a) <= 3 and len(b) <= 3:  # rank 3: [batch*heads, T, K]
        n, g = 1, batch[1]
    else:
        n, g = batch
    return {"N": n, "C": k, "M": m, "R": 1, "S": 1, "P": rows, "Q": 1, "G": g, "dynamic": True}


def _pad(lead: list[int], n: int) -> list[int]:
    """Left-pad leading (batch) dims with ones to length ``n``."""
    return [1] * (n - len(lead)) + list(lead)

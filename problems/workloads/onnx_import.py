"""Read a workload from an ONNX model: its Conv, ConvTranspose, Gemm and MatMul nodes, in
graph order.

Weights are constant tensors: initializers, ``Constant`` nodes and anything computed from
constants only (e.g. ``Transpose(W)``, ``DequantizeLinear(Wq)``). A MatMul/Gemm of two
activations is a ``dynamic`` (attention-style) layer. Shapes come from
``onnx.shape_inference``; symbolic dimensions need values (``dims={"batch": 1}``, CLI
``--dims batch=1``).

A 1-D/2-D ConvTranspose is imported in its scatter form (how a weight-stationary crossbar runs
it): every input pixel's C_in-vector meets the C_in x (M/group * kH * kW) weight matrix and the
partial outputs are scatter-added, so C = C_in/group, M = M_out/group * kH * kW, R = S = 1,
P x Q = the INPUT size, stride 1; MACs = N * C_in * (M_out/group) * kH * kW * H_in * W_in (no
multiplications by inserted zeros), weights = C_in * (M_out/group) * kH * kW.

Nothing is dropped silently: a node whose op multiplies by weights but is not supported here
(3-D Conv / ConvTranspose, quantized / fused / recurrent ops, Einsum, or such an op inside an
If/Loop/Scan body) is an `ImcoptError` naming the node and the op, unless
``skip_unsupported=True``, which skips them and warns (`DroppedLayersWarning`) how many MACs
were dropped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError, short
from problems.workloads.layers import Workload

__all__ = ["load_onnx", "DroppedLayersWarning", "SUPPORTED_OPS", "UNSUPPORTED_WEIGHT_OPS"]

SUPPORTED_OPS: tuple[str, ...] = ("Conv", "ConvTranspose", "Gemm", "MatMul")
#: ops that multiply activations by weights but are not imported (refused or skipped)
UNSUPPORTED_WEIGHT_OPS: frozenset[str] = frozenset({
    "ConvInteger", "QLinearConv", "DeformConv", "MatMulInteger",
    "QLinearMatMul", "Einsum", "LSTM", "GRU", "RNN", "Attention", "MultiHeadAttention",
    "QAttention", "FusedConv", "FusedGemm", "FusedMatMul", "QGemm", "DynamicQuantizeMatMul",
    "MatMulNBits", "QLinearConvTranspose",
})
_SUBGRAPH_OPS = frozenset({"If", "Loop", "Scan"})


class DroppedLayersWarning(UserWarning):
    """Weight layers were skipped on request (``skip_unsupported=True``)."""


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImcoptError("reading ONNX models needs the optional dependency 'onnx': "
                          "pip install 'imcopt[onnx]'") from None
    return onnx


def _subgraph_weight_ops(node: Any, onnx: Any) -> list[str]:
    """Weight ops (supported or not) inside the If/Loop/Scan bodies of ``node``."""
    found: list[str] = []
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for g in graphs:
            for sub in g.node:
                if sub.op_type in SUPPORTED_OPS or sub.op_type in UNSUPPORTED_WEIGHT_OPS:
                    found.append(f"{sub.op_type} '{sub.name or '?'}'")
                found += _subgraph_weight_ops(sub, onnx)
    return found


def load_onnx(path: str | Path, dims: Mapping[str, int] | None = None,
              name: str | None = None, skip_unsupported: bool = False) -> Workload:
    """ONNX model -> Workload of its Conv / Gemm / MatMul nodes (graph order).

    ``dims`` gives values for symbolic dimensions (e.g. ``{"batch": 1}``). Unsupported
    weight ops are an error unless ``skip_unsupported`` (then a `DroppedLayersWarning`).
    """
    onnx = _import_onnx()
    path = Path(path)
    dims = dict(dims or {})
    for k, v in dims.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ImcoptError(f"{path}: dims: {short(k)} = {short(v)} must be a positive integer")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, OSError, ...
        raise ImcoptError(f"{path}: cannot read ONNX model: {short(str(exc))}") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        raise ImcoptError(f"{path}: ONNX shape inference failed: {short(str(exc))}") from None
    graph = model.graph
    shapes: dict[str, list[int | str | None]] = {}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value")
                           else (d.dim_param or None) for d in tt.shape.dim]
    const = _constant_tensors(graph, shapes)

    def shape_of(tensor: str, where: str, what: str) -> list[int]:
        if tensor not in shapes:
            raise ImcoptError(f"{where}: field {what}: shape of tensor '{tensor}' is unknown "
                              f"(shape inference could not derive it)")
        out = []
        for i, d in enumerate(shapes[tensor]):
            if isinstance(d, str) and d in dims:
                d = dims[d]
            if not isinstance(d, int) or d <= 0:
                hint = (f"; pass --dims {d}=N on the command line (dims={{'{d}': N}} in "
                        f"Python or a workload list)" if isinstance(d, str) else "")
                raise ImcoptError(f"{where}: field {what}: dimension {i} of tensor '{tensor}' "
                                  f"is {d!r}, not a known positive size{hint}")
            out.append(d)
        return out

    records: list[dict[str, Any]] = []
    skipped: list[tuple[str, float | None]] = []
    used: set[str] = set()
    for idx, node in enumerate(graph.node):
        layer = node.name or f"{node.op_type}_{idx}"
        where = f"{path}: node '{layer}' ({node.op_type})"
        problem = _unsupported(node, onnx, shapes)
        if problem is not None:
            if not skip_unsupported:
                raise ImcoptError(f"{where}: {problem}; pass --onnx-skip-unsupported "
                                  f"(skip_unsupported=True in Python) to drop such nodes")
            skipped.append((f"{layer} ({node.op_type})", _dropped_macs(node, shape_of, where)))
            continue
        if node.op_type not in SUPPORTED_OPS:
            continue
        while layer in used:
            layer += "_"
        used.add(layer)
        where = f"{path}: layer '{layer}' ({node.op_type})"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type in ("Conv", "ConvTranspose"):
            conv = _onnx_conv if node.op_type == "Conv" else _onnx_conv_transpose
            rec = conv(node, attrs, shape_of, where)
            rec["dynamic"] = node.input[1] not in const
        elif node.op_type == "Gemm":
            rec = _onnx_gemm(node, attrs, shape_of, const, where)
        else:
            rec = _onnx_matmul(node, shape_of, const, where)
        rec["layer"] = layer
        records.append(rec)
    if skipped:
        known = [m for _, m in skipped if m is not None]
        lost = f"{sum(known):,.0f} MACs" if known else "an unknown number of MACs"
        if known and len(known) < len(skipped):
            lost += f" (+ {len(skipped) - len(known)} node(s) of unknown size)"
        warnings.warn(f"{path}: skipped {len(skipped)} unsupported weight node(s) "
                      f"[{', '.join(n for n, _ in skipped[:5])}"
                      f"{', ...' if len(skipped) > 5 else ''}]: {lost} dropped",
                      DroppedLayersWarning, stacklevel=2)
    if not records:
        raise ImcoptError(f"{path}: no {', '.join(SUPPORTED_OPS)} nodes in the ONNX graph")
    return Workload.from_records(name or path.stem, records, source=str(path))


def _constant_tensors(graph: Any, shapes: dict[str, list]) -> set[str]:
    """Names of constant tensors: initializers, Constant outputs, and outputs of nodes whose
    inputs are all constant (a weight reshaped, transposed or dequantized is still a weight).
    Adds initializer / Constant shapes to ``shapes``."""
    const: set[str] = set()
    for t in graph.initializer:
        const.add(t.name)
        shapes[t.name] = [int(d) for d in t.dims]
    for node in graph.node:
        if node.op_type == "Constant":
            const.update(node.output)
            for a in node.attribute:
                if a.name == "value":
                    shapes.setdefault(node.output[0], [int(d) for d in a.t.dims])
        elif (node.input and all(i in const for i in node.input if i)
              and node.op_type not in SUPPORTED_OPS and node.op_type not in _SUBGRAPH_OPS):
            const.update(node.output)
    return const


def _unsupported(node: Any, onnx: Any, shapes: dict[str, list]) -> str | None:
    """Why ``node`` carries weights the importer cannot count, or None."""
    op = node.op_type
    if op in UNSUPPORTED_WEIGHT_OPS:
        return (f"op {op} multiplies by weights but is not supported (supported: "
                f"{', '.join(SUPPORTED_OPS)})")
    if op in ("Conv", "ConvTranspose") and len(shapes.get(node.input[1], [])) > 4:
        return (f"a {len(shapes[node.input[1]]) - 2}-D {op} (weight shape "
                f"{shapes[node.input[1]]}) is not supported (1-D and 2-D are)")
    if op in _SUBGRAPH_OPS:
        inner = _subgraph_weight_ops(node, onnx)
        if inner:
            return (f"its subgraph contains weight ops ({', '.join(inner[:3])}"
                    f"{', ...' if len(inner) > 3 else ''}), which are not imported")
    return None


def _dropped_macs(node: Any, shape_of: Callable, where: str) -> float | None:
    """MACs of a skipped node where a formula is known (conv-like, matmul-like), else None."""
    op = node.op_type
    try:
        if op in ("ConvTranspose", "QLinearConvTranspose"):
            x = shape_of(node.input[0], where, "input")
            w = shape_of(node.input[1 if op == "ConvTranspose" else 3], where, "weight")
            # every input pixel meets every kernel tap of every output channel of its group
            return float(math.prod(x) * math.prod(w[1:]))
        if op in ("Conv", "ConvInteger", "QLinearConv", "FusedConv", "DeformConv"):
            w = shape_of(node.input[3 if op == "QLinearConv" else 1], where, "weight")
            y = shape_of(node.output[0], where, "output")
            return float(math.prod(y) * math.prod(w[1:]))
        if op in ("MatMulInteger", "QLinearMatMul", "FusedMatMul"):
            a = shape_of(node.input[0], where, "A")
            b = shape_of(node.input[3 if op == "QLinearMatMul" else 1], where, "B")
            return float(math.prod(a) * b[-1])
    except (ImcoptError, IndexError):
        return None
    return None


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


def _onnx_conv_transpose(node: Any, attrs: dict, shape_of: Any, where: str) -> dict[str, Any]:
    """1-D/2-D ConvTranspose in scatter form (module docstring)."""
    x = shape_of(node.input[0], where, "input")
    w = shape_of(node.input[1], where, "weight")
    if len(w) not in (3, 4) or len(x) != len(w):
        raise ImcoptError(f"{where}: field weight: only 1-D/2-D transposed convolutions are "
                          f"supported (weight shape {w}, input shape {x})")
    groups = int(attrs.get("group", 1))
    c_in, m_per_group, *kernel = w
    if groups <= 0 or c_in % groups or x[1] != c_in:
        raise ImcoptError(f"{where}: field group = {groups} does not fit input channels "
                          f"{x[1]} and weight shape {w}")
    spatial = x[2:] + [1] * (4 - len(x))
    return {"N": x[0], "C": c_in // groups, "M": m_per_group * math.prod(kernel), "R": 1,
            "S": 1, "P": spatial[0], "Q": spatial[1], "G": groups}


def _onnx_gemm(node: Any, attrs: dict, shape_of: Any, const: set[str],
               where: str) -> dict[str, Any]:
    a = shape_of(node.input[0], where, "A")
    b = shape_of(node.input[1], where, "B")
    if len(a) != 2 or len(b) != 2:
        raise ImcoptError(f"{where}: field A/B: Gemm needs rank-2 inputs, got {a} and {b}")
    rows, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
    kb, m = (b[1], b[0]) if attrs.get("transB", 0) else (b[0], b[1])
    if k != kb:
        raise ImcoptError(f"{where}: field B: inner dimensions differ ({k} vs {kb})")
    dynamic = node.input[1] not in const and node.input[0] not in const
    return {"N": 1, "C": k, "M": m, "R": 1, "S": 1, "P": rows, "Q": 1, "dynamic": dynamic}


def _onnx_matmul(node: Any, shape_of: Any, const: set[str], where: str) -> dict[str, Any]:
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
    if node.input[1] in const:  # activations x constant weight matrix
        return {"N": math.prod(a[:-2]), "C": k, "M": m, "R": 1, "S": 1, "P": rows, "Q": 1,
                "G": math.prod(b[:-2]), "dynamic": False}
    if node.input[0] in const:  # constant on the left: W[M,K] @ X[K,T] -> out features = rows
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

"""Turn a workload spec (zoo name, set name, file path, list) into Workload objects.

A spec is one of, or a comma-separated list / sequence of:

- a zoo network (``resnet18``) or a named set (``paper-4``), see `problems.workloads.zoo`;
- a layer-table ``.csv`` (one workload per ``network`` value);
- a folder of Timeloop problem YAML files (one per layer);
- an ``.onnx`` model;
- a single Timeloop problem ``.yaml`` (a one-layer workload);
- a workload-list ``.yaml``: ``workloads: [resnet18, paper-4, layers.csv,
  {name: vit_b16, seq_len: 64}, {path: model.onnx, dims: {batch: 1},
  skip_unsupported: true}]`` (relative paths are relative to the list file).

``onnx_dims`` / ``onnx_skip_unsupported`` of `load_workloads` apply to every ONNX model of
the spec (a list entry's own ``dims`` / ``skip_unsupported`` take precedence).

The same workload named twice (e.g. ``paper-4,resnet18``) is kept once; two different
workloads with one name are an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.workloads.importers import _read_yaml, load_csv, load_onnx, load_problem_dir
from problems.workloads.importers import load_problem_yaml as _load_problem_yaml
from problems.workloads.layers import Workload
from problems.workloads.zoo import SETS, ZOO, get_workload

__all__ = ["load_workloads"]


def _known() -> str:
    return f"known networks: {', '.join(ZOO)}; sets: {', '.join(SETS)}"


def _load_path(path: Path, seen: set[Path], onnx: Mapping[str, Any]) -> list[Workload]:
    if path.is_dir():
        return [load_problem_dir(path)]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_csv(path)
    if suffix == ".onnx":
        return [load_onnx(path, **onnx)]
    if suffix in (".yaml", ".yml"):
        data = _read_yaml(path)
        if isinstance(data, Mapping) and "problem" in data:
            return [_load_problem_yaml(path)]
        return _load_list_file(path, data, seen, onnx)
    raise ImcoptError(f"{path}: unsupported workload file type '{suffix}' "
                      f"(expected .csv, .onnx, .yaml/.yml or a directory)")


def _load_list_file(path: Path, data: Any, seen: set[Path],
                    onnx: Mapping[str, Any]) -> list[Workload]:
    """A YAML file listing workload specs."""
    key = path.resolve()
    if key in seen:
        raise ImcoptError(f"{path}: workload list includes itself (directly or indirectly)")
    seen = seen | {key}
    entries = data.get("workloads") if isinstance(data, Mapping) else data
    if not isinstance(entries, list) or not entries:
        raise ImcoptError(f"{path}: expected a 'workloads:' list (or a 'problem:' layer file)")
    out: list[Workload] = []
    for i, entry in enumerate(entries):
        where = f"{path}: workloads[{i}]"
        if isinstance(entry, str):
            out += _load_one(entry, path.parent, seen, onnx, where)
        elif isinstance(entry, Mapping):
            params = dict(entry)
            if "path" in params:
                target = path.parent / str(params.pop("path"))
                own = {k: params.pop(k) for k in ("dims", "skip_unsupported") if k in params}
                if params:
                    raise ImcoptError(f"{where}: unknown field(s) {sorted(params)} for a path")
                if own:
                    if target.suffix.lower() != ".onnx":
                        raise ImcoptError(f"{where}: field(s) {sorted(own)} only apply to "
                                          f".onnx files")
                    if "dims" in own and not isinstance(own["dims"], Mapping):
                        raise ImcoptError(f"{where}: field dims must be a mapping")
                    if not isinstance(own.get("skip_unsupported", False), bool):
                        raise ImcoptError(f"{where}: field skip_unsupported must be true or "
                                          f"false")
                    out.append(load_onnx(target, **{**onnx, **own}))
                else:
                    out += _load_one(str(target), Path.cwd(), seen, onnx, where)
            elif "name" in params:
                name = str(params.pop("name"))
                if name not in ZOO:
                    raise ImcoptError(f"{where}: field name = '{name}' is not a zoo network; "
                                      f"{_known()}")
                try:
                    out.append(get_workload(name, **params))
                except ImcoptError as exc:
                    raise ImcoptError(f"{where}: {exc}") from None
            else:
                raise ImcoptError(f"{where}: a mapping entry needs a 'name' or a 'path' field")
        else:
            raise ImcoptError(f"{where}: expected a name, a path or a mapping, got {entry!r}")
    return out


def _load_one(item: str, base: Path, seen: set[Path], onnx: Mapping[str, Any],
              where: str = "") -> list[Workload]:
    item = item.strip()
    if not item:
        raise ImcoptError(f"{where or 'workload spec'}: empty workload name")
    if item in ZOO:
        return [get_workload(item)]
    if item in SETS:
        return [get_workload(n) for n in SETS[item]]
    path = Path(item)
    if not path.is_absolute():
        path = base / path
    if path.exists():
        return _load_path(path, seen, onnx)
    prefix = f"{where}: " if where else ""
    raise ImcoptError(f"{prefix}unknown workload '{item}': not a zoo network, a set or an "
                      f"existing file; {_known()}")


def _dedupe(workloads: list[Workload]) -> list[Workload]:
    out: dict[str, Workload] = {}
    for w in workloads:
        old = out.get(w.name)
        if old is None:
            out[w.name] = w
        elif (old.source, old.n_layers, old.total_macs, old.total_weights) != (
                w.source, w.n_layers, w.total_macs, w.total_weights):
            raise ImcoptError(f"two different workloads are named '{w.name}' "
                              f"({old.source or 'zoo'} and {w.source or 'zoo'})")
    return list(out.values())


def load_workloads(spec: str | Path | Sequence[str | Path],
                   onnx_dims: Mapping[str, int] | None = None,
                   onnx_skip_unsupported: bool = False) -> list[Workload]:
    """Resolve a workload spec (see module docstring) into a list of workloads.

    ``onnx_dims`` (symbolic dimension -> size) and ``onnx_skip_unsupported`` are passed to
    every `load_onnx` call."""
    onnx = {"dims": dict(onnx_dims or {}), "skip_unsupported": bool(onnx_skip_unsupported)}
    items: list[str]
    if isinstance(spec, Path):
        items = [str(spec)]
    elif isinstance(spec, str):
        items = [spec] if Path(spec).exists() else spec.split(",")
    elif isinstance(spec, Sequence):
        items = []
        for s in spec:
            if not isinstance(s, str | Path):
                raise ImcoptError(f"workload spec entries must be names or paths, got {s!r}")
            items += [str(s)] if isinstance(s, Path) or Path(s).exists() else str(s).split(",")
    else:
        raise ImcoptError(f"workload spec must be a name, a path or a list, got {spec!r}")
    if not [i for i in items if i.strip()]:
        raise ImcoptError(f"empty workload spec; {_known()}")
    out: list[Workload] = []
    for item in items:
        out += _load_one(item, Path.cwd(), set(), onnx)
    return _dedupe(out)

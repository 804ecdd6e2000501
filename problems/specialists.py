"""Workload specialists: the exact best design for each workload alone, and the
largest-workload design (the specialist of the workload with the most weights), cached on disk.

A specialist of workload w minimises that workload's EDAP ``E_w * L_w * A`` (times k(node)
when ``fabrication_cost="product"``; the cost alone for ``"alone"``) over the designs that are
feasible for w alone (area within budget, usable for w; RRAM: w's weights resident). All are
found in ONE enumeration pass (`exhaustive_search` tracks them as a by-product).

Cache: ``<cache_dir()>/specialists/<key>.json`` (the user cache folder or
``$IMCOPT_CACHE_DIR``), key = sha256 of the space's values, the workloads' layer tables, the
objective settings that matter (area budget, fabrication cost, node cost table), the
convention and a fingerprint of the cost model's source files (so a changed model never reuses
stale optima). Writes are atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from problems import exhaustive  # its search is looked up at call time (tests substitute it)
from problems.errors import ImcoptError
from problems.fingerprint import digest
from problems.io import OutputError, atomic_write_json, check_writable
from problems.objectives import ObjectiveConfig
from problems.problem import as_stack
from problems.spaces import SearchSpace
from problems.workloads.layers import INT_FIELDS, Workload
from problems.workloads.stack import WorkloadStack

CACHE_VERSION = 1


@dataclass
class Specialists:
    """Per-workload optima (index vectors, designs, EDAP) and the largest workload's design."""

    workload_names: list[str]
    x: np.ndarray                      # (n_w, n_var); -1 rows where nothing is feasible
    designs: list[dict[str, object] | None]
    edap: np.ndarray                   # (n_w,) each workload's own optimum EDAP (inf if none)
    largest_workload: str              # the workload with the most weights
    key: str = ""

    @property
    def largest_index(self) -> int:
        return self.workload_names.index(self.largest_workload)

    @property
    def largest_x(self) -> np.ndarray:
        return self.x[self.largest_index]

    @property
    def largest_design(self) -> dict[str, object] | None:
        return self.designs[self.largest_index]

    def to_dict(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, "key": self.key,
                "workload_names": self.workload_names, "x": self.x.tolist(),
                "designs": self.designs,
                "edap": [float(v) if np.isfinite(v) else None for v in self.edap],
                "largest_workload": self.largest_workload}

    @classmethod
    def from_dict(cls, d: dict) -> Specialists:
        return cls(workload_names=list(d["workload_names"]),
                   x=np.asarray(d["x"], dtype=np.int64), designs=list(d["designs"]),
                   edap=np.array([np.inf if v is None else v for v in d["edap"]], float),
                   largest_workload=str(d["largest_workload"]), key=str(d.get("key", "")))


# -- cache ------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """``$IMCOPT_CACHE_DIR`` if set, else the user cache folder + ``imcopt`` (platformdirs;
    on Linux ``$XDG_CACHE_HOME/imcopt``, default ``~/.cache/imcopt``). Never inside the
    installed package or the repository."""
    env = os.environ.get("IMCOPT_CACHE_DIR")
    if env:
        return Path(env)
    return platformdirs.user_cache_path("imcopt", appauthor=False)


def writable_cache_dir(cache: Path | None = None) -> Path:
    """``cache`` (default `cache_dir`) if a cache file can be written there; else
    `OutputError` ``cannot write ...``. Called before any long computation that caches."""
    d = Path(cache or cache_dir())
    try:
        check_writable(d / "specialists" / "probe.json")
    except OutputError as exc:
        from_env = cache is None and bool(os.environ.get("IMCOPT_CACHE_DIR"))
        raise OutputError(f"{exc} (the cache folder{', from IMCOPT_CACHE_DIR' if from_env else ''}"
                          f"; set IMCOPT_CACHE_DIR to a writable folder)") from None
    return d


def model_fingerprint(convention: str | None = None) -> str:
    """sha256 of the cost model's source and data files (`CostModel.fingerprint`).

    With a convention, only the files that convention uses, so recalibrating one convention
    does not invalidate cached results of the other; without, every file."""
    from problems.hardware.registry import model_fingerprint as fingerprint

    return fingerprint(convention)


def _workload_table(w: Workload) -> list[list[int]]:
    return [getattr(w, f).tolist() for f in INT_FIELDS] + [w.dynamic.astype(int).tolist()]


def cache_key(space: SearchSpace, stack: WorkloadStack, objective: ObjectiveConfig,
              convention: str) -> str:
    """Content hash identifying one specialist computation."""
    payload = {
        "version": CACHE_VERSION,
        "space": space.fingerprint(),
        "workloads": [[w.name, _workload_table(w)] for w in stack.workloads],
        "objective": {"area_budget_mm2": objective.area_budget_mm2,
                      "fabrication_cost": objective.fabrication_cost,
                      "node_cost_factor": {str(k): v
                                           for k, v in objective.node_cost_factor.items()}},
        "convention": convention,
        "model": model_fingerprint(convention),
    }
    if objective.deployment is not None:           # absent for the defaults: keys unchanged
        payload["deployment"] = dict(objective.deployment)
    return digest(payload, 32)


def write_json_atomic(path: Path, data: object) -> None:
    """Write strict JSON (no NaN/inf) to path atomically (temp file + os.replace)."""
    atomic_write_json(path, data, allow_nan=False)


# -- computation ------------------------------------------------------------------------------
def _cache_file(space: SearchSpace, stack: WorkloadStack, objective: ObjectiveConfig | None,
                convention: str, cache: Path | None) -> tuple[str, Path]:
    """(cache key, file) of the specialists of ``stack`` in ``space`` under ``objective``."""
    key = cache_key(space, stack, exhaustive.specialist_objective(objective), convention)
    return key, Path(cache or cache_dir()) / "specialists" / f"{key}.json"


def find_specialists(
    space: SearchSpace,
    workloads: WorkloadStack | Sequence[Workload],
    objective: ObjectiveConfig | None = None,
    convention: str = "physical",
    chunk: int = 200_000,
    progress: bool = False,
    use_cache: bool = True,
    cache: Path | None = None,
) -> Specialists:
    """Exact specialists of every workload (one enumeration of ``space``), cached on disk."""
    stack = as_stack(workloads)
    if use_cache:
        writable_cache_dir(cache)  # fail before the enumeration, not after it
    key, path = _cache_file(space, stack, objective, convention, cache)
    if use_cache and path.is_file():
        try:
            spec = Specialists.from_dict(json.loads(path.read_text()))
            if spec.workload_names == stack.names and spec.x.shape == (stack.n_workloads,
                                                                        space.n_var):
                return spec
        except (ValueError, KeyError, TypeError):
            pass  # corrupt or foreign cache entry: recompute and overwrite
    res = exhaustive.exhaustive_search(space, stack, exhaustive.specialist_objective(objective),
                                       convention, top_k=1, chunk=chunk, progress=progress)
    spec = specialists_from_result(res, space, stack, key)
    if use_cache:
        write_json_atomic(path, spec.to_dict())
    return spec


def store_specialists(res: object, space: SearchSpace,
                      workloads: WorkloadStack | Sequence[Workload],
                      objective: ObjectiveConfig | None = None, convention: str = "physical",
                      cache: Path | None = None) -> Specialists | None:
    """Cache the specialists found as a by-product of a FULL-space `exhaustive_search`
    (returns None and stores nothing for a partial enumeration)."""
    if tuple(res.flat_range) != (0, space.size):  # type: ignore[attr-defined]
        return None
    stack = as_stack(workloads)
    key, path = _cache_file(space, stack, objective, convention, cache)
    spec = specialists_from_result(res, space, stack, key)
    write_json_atomic(path, spec.to_dict())
    return spec


def specialists_from_result(res: object, space: SearchSpace, stack: WorkloadStack,
                            key: str = "") -> Specialists:
    """`Specialists` from a full-space `ExhaustiveResult` (its per-workload by-product)."""
    wx = res.workload_best_x  # type: ignore[attr-defined]
    wl = res.workload_best_log10  # type: ignore[attr-defined]
    designs: list[dict[str, object] | None] = []
    for row in wx:
        designs.append(None if row[0] < 0 else space.decode(row[None, :]).to_records()[0])
    with np.errstate(over="ignore"):
        edap = np.where(np.isfinite(wl), 10.0 ** wl, np.inf)
    weights = [w.total_weights for w in stack.workloads]
    return Specialists(workload_names=list(stack.names), x=np.asarray(wx, np.int64),
                       designs=designs, edap=edap,
                       largest_workload=stack.names[int(np.argmax(weights))], key=key)


def specialist_edap(
    space: SearchSpace,
    workloads: WorkloadStack | Sequence[Workload],
    objective: ObjectiveConfig | None = None,
    convention: str = "physical",
    chunk: int = 200_000,
    progress: bool = False,
) -> np.ndarray:
    """(n_w,) each workload's optimum EDAP alone; ImcoptError if a workload has no feasible
    design in the space (the normalized aggregation is then undefined)."""
    spec = find_specialists(space, workloads, objective, convention, chunk, progress)
    bad = [n for n, v in zip(spec.workload_names, spec.edap, strict=True) if not np.isfinite(v)]
    if bad:
        raise ImcoptError(f"no feasible design in space {space.name} for workload(s) {bad}: "
                          f"their specialist EDAP is undefined")
    return spec.edap

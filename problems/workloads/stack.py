"""Several workloads flattened into one layer axis, for vectorized evaluation.

Per-layer arrays of all workloads are concatenated; ``workload_index[l]`` says which workload
layer ``l`` belongs to, and ``offsets`` delimits them. Sums over layers per workload are a
matrix product with ``membership`` (n_layers_total, n_workloads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from problems.errors import ImcoptError
from problems.workloads.layers import INT_FIELDS, Workload


@dataclass(frozen=True, eq=False)
class WorkloadStack:
    workloads: tuple[Workload, ...]

    def __post_init__(self) -> None:
        if not self.workloads:
            raise ImcoptError("a workload set needs at least one workload")
        names = [w.name for w in self.workloads]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ImcoptError(f"duplicate workload names in one set: {sorted(dup)}")
        object.__setattr__(self, "workloads", tuple(self.workloads))
        for f in INT_FIELDS:
            arr = np.concatenate([getattr(w, f) for w in self.workloads])
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)
        dyn = np.concatenate([w.dynamic for w in self.workloads])
        object.__setattr__(self, "dynamic", dyn)
        counts = np.array([w.n_layers for w in self.workloads])
        object.__setattr__(self, "offsets", np.concatenate([[0], np.cumsum(counts)]))
        idx = np.repeat(np.arange(len(self.workloads)), counts)
        object.__setattr__(self, "workload_index", idx)
        mem = np.zeros((idx.size, len(self.workloads)))
        mem[np.arange(idx.size), idx] = 1.0
        object.__setattr__(self, "membership", mem)

    @classmethod
    def of(cls, workloads: Sequence[Workload] | Workload) -> WorkloadStack:
        if isinstance(workloads, Workload):
            workloads = [workloads]
        return cls(tuple(workloads))

    @property
    def names(self) -> list[str]:
        return [w.name for w in self.workloads]

    @property
    def n_workloads(self) -> int:
        return len(self.workloads)

    @property
    def n_layers(self) -> int:
        return int(self.offsets[-1])

    @property
    def macs(self) -> np.ndarray:
        return self.N * self.C * self.M * self.R * self.S * self.P * self.Q * self.G

    @property
    def weights(self) -> np.ndarray:
        return self.C * self.M * self.R * self.S * self.G

    def per_workload(self, per_layer: np.ndarray) -> np.ndarray:
        """Sum a (..., n_layers) array over each workload's layers -> (..., n_workloads)."""
        return per_layer @ self.membership

    def per_workload_max(self, per_layer: np.ndarray) -> np.ndarray:
        """Max of a (..., n_layers) array over each workload's layers."""
        return np.maximum.reduceat(per_layer, self.offsets[:-1], axis=-1)

    def per_workload_all(self, per_layer: np.ndarray) -> np.ndarray:
        """Logical AND of a (..., n_layers) bool array over each workload's layers."""
        return np.logical_and.reduceat(per_layer, self.offsets[:-1], axis=-1)

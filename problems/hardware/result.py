"""`CostResult`: what the cost model returns for a design batch x a workload set."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class CostResult:
    """Costs of n_designs designs on n_workloads workloads under one accounting convention.

    ``valid[d, w]`` is False where the model cannot evaluate the design on that workload
    (e.g. RRAM weights that do not fit): energy and latency there are ``inf``.
    Breakdowns (on request) map component name -> array; they sum to the totals.
    """

    convention: str                     # "cimloop" or "physical"
    workloads: tuple[str, ...]
    energy_j: np.ndarray                # (n_designs, n_workloads) J per inference
    latency_s: np.ndarray               # (n_designs, n_workloads) s per inference
    area_mm2: np.ndarray                # (n_designs,) mm^2
    utilisation: np.ndarray             # (n_designs, n_workloads) fraction in [0, 1]
    weights_resident: np.ndarray        # (n_designs, n_workloads) bool: all weights fit on chip
    valid: np.ndarray                   # (n_designs, n_workloads) bool: evaluable
    energy_breakdown_j: dict[str, np.ndarray] | None = field(default=None)   # each (n_d, n_w)
    area_breakdown_mm2: dict[str, np.ndarray] | None = field(default=None)   # each (n_d,)
    latency_breakdown_s: dict[str, np.ndarray] | None = field(default=None)  # each (n_d, n_w)

    @property
    def edap(self) -> np.ndarray:
        """Energy-delay-area product per design x workload, J*s*mm^2 (inf where invalid)."""
        return self.energy_j * self.latency_s * self.area_mm2[:, None]

    @property
    def n_designs(self) -> int:
        return int(self.area_mm2.shape[0])

    @classmethod
    def concat(cls, parts: list[CostResult]) -> CostResult:
        """Join results of consecutive design chunks (same convention and workloads)."""
        cat = np.concatenate

        def merge(name: str) -> dict[str, np.ndarray] | None:
            first = getattr(parts[0], name)
            return None if first is None else {k: cat([getattr(p, name)[k] for p in parts])
                                               for k in first}

        return cls(
            convention=parts[0].convention, workloads=parts[0].workloads,
            energy_j=cat([p.energy_j for p in parts]),
            latency_s=cat([p.latency_s for p in parts]),
            area_mm2=cat([p.area_mm2 for p in parts]),
            utilisation=cat([p.utilisation for p in parts]),
            weights_resident=cat([p.weights_resident for p in parts]),
            valid=cat([p.valid for p in parts]),
            energy_breakdown_j=merge("energy_breakdown_j"),
            area_breakdown_mm2=merge("area_breakdown_mm2"),
            latency_breakdown_s=merge("latency_breakdown_s"),
        )

    def to_frame(self):
        """Long table: one row per (design, workload) with unit-suffixed columns."""
        import pandas as pd

        n_d, n_w = self.energy_j.shape
        df = pd.DataFrame({
            "design": np.repeat(np.arange(n_d), n_w),
            "workload": np.tile(np.array(self.workloads, dtype=object), n_d),
            "energy_j": self.energy_j.ravel(),
            "latency_s": self.latency_s.ravel(),
            "area_mm2": np.repeat(self.area_mm2, n_w),
            "edap_j_s_mm2": self.edap.ravel(),
            "utilisation": self.utilisation.ravel(),
            "weights_resident": self.weights_resident.ravel(),
            "valid": self.valid.ravel(),
        })
        df.attrs["convention"] = self.convention
        return df

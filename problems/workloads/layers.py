"""The `Workload` model: one network as per-layer integer arrays (Timeloop problem dimensions).

Dimension names follow Timeloop / CiMLoop: N batch, C input channels per group, M output
channels per group, R x S kernel, P x Q output size, G groups. Counting convention (stated once,
used everywhere): one MAC = one multiply-accumulate;
``macs = N*C*M*R*S*P*Q*G`` and ``weights = C*M*R*S*G`` (biases and norm parameters are not
counted as weights). A grouped / depthwise convolution is G independent matrices of
``C*R*S`` rows by ``M*slices`` columns; a standard layer has G = 1.
Layers whose both operands are activations (attention Q.K^T and A.V) are marked
``dynamic``: their "weights" must be written into the arrays at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from problems.errors import ImcoptError

#: integer per-layer fields, in table order
INT_FIELDS: tuple[str, ...] = (
    "N", "C", "M", "R", "S", "P", "Q", "G",
    "h_stride", "w_stride", "h_dilation", "w_dilation",
    "input_bits", "weight_bits", "output_bits",
)
#: fields that take a default when a source does not give them
DEFAULTS: dict[str, int] = {
    "N": 1, "G": 1, "h_stride": 1, "w_stride": 1, "h_dilation": 1, "w_dilation": 1,
    "input_bits": 8, "weight_bits": 8, "output_bits": 8,
}


@dataclass(frozen=True, eq=False)
class Workload:
    """One network: a name and per-layer integer arrays (all of length ``n_layers``)."""

    name: str
    layer_names: tuple[str, ...]
    N: np.ndarray
    C: np.ndarray
    M: np.ndarray
    R: np.ndarray
    S: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    G: np.ndarray
    h_stride: np.ndarray
    w_stride: np.ndarray
    h_dilation: np.ndarray
    w_dilation: np.ndarray
    input_bits: np.ndarray
    weight_bits: np.ndarray
    output_bits: np.ndarray
    dynamic: np.ndarray = field(default=None)  # bool: both operands are activations
    source: str = ""  # where it came from (zoo, file path) for error messages

    def __post_init__(self) -> None:
        n = len(self.layer_names)
        if n == 0:
            where = self.source or "in memory"
            raise ImcoptError(f"workload '{self.name}' ({where}) has no layers")
        for f in INT_FIELDS:
            arr = np.asarray(getattr(self, f))
            if arr.shape != (n,):
                raise ImcoptError(
                    f"workload '{self.name}': field {f} has shape {arr.shape}, expected ({n},)"
                )
            if not np.issubdtype(arr.dtype, np.integer):
                arr = self._as_integers(f, arr)
            arr = arr.astype(np.int64)
            if np.any(arr <= 0):
                bad = int(np.flatnonzero(arr <= 0)[0])
                raise ImcoptError(
                    f"workload '{self.name}' ({self.source or 'in memory'}): layer "
                    f"'{self.layer_names[bad]}' field {f} = {arr[bad]} must be a positive integer"
                )
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)
        dyn = np.zeros(n, bool) if self.dynamic is None else np.asarray(self.dynamic, bool)
        if dyn.shape != (n,):
            raise ImcoptError(f"workload '{self.name}': field dynamic has shape {dyn.shape}")
        dyn.setflags(write=False)
        object.__setattr__(self, "dynamic", dyn)
        object.__setattr__(self, "layer_names", tuple(str(s) for s in self.layer_names))

    def _as_integers(self, field_name: str, arr: np.ndarray) -> np.ndarray:
        """Whole numbers given as floats/strings -> int64; anything else names the layer."""
        where = self.source or "in memory"
        out = np.empty(arr.shape, np.int64)
        for i, v in enumerate(arr):
            try:
                fv = float(v)
            except (TypeError, ValueError):
                fv = float("nan")
            if not np.isfinite(fv) or fv != round(fv):
                raise ImcoptError(
                    f"workload '{self.name}' ({where}): layer '{self.layer_names[i]}' "
                    f"field {field_name} = '{v}' is not an integer"
                )
            out[i] = int(fv)
        return out

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_records(
        cls, name: str, records: Sequence[Mapping[str, object]], source: str = ""
    ) -> Workload:
        """Build from dicts with keys from INT_FIELDS (defaults filled), optional
        ``name``/``layer`` and ``dynamic``."""
        if not records:
            raise ImcoptError(f"workload '{name}' ({source or 'in memory'}) has no layers")
        cols: dict[str, list] = {f: [] for f in INT_FIELDS}
        names: list[str] = []
        dyn: list[bool] = []
        for i, rec in enumerate(records):
            names.append(str(rec.get("layer", rec.get("name", i))))
            dyn.append(bool(rec.get("dynamic", False)))
            for f in INT_FIELDS:
                v = rec.get(f, DEFAULTS.get(f))
                if v is None:
                    raise ImcoptError(
                        f"workload '{name}' ({source or 'in memory'}): layer '{names[-1]}' "
                        f"is missing field {f}"
                    )
                cols[f].append(v)
        arrays = {f: np.asarray(v) for f, v in cols.items()}
        return cls(name=name, layer_names=tuple(names), dynamic=np.asarray(dyn), source=source,
                   **arrays)

    # -- derived per-layer quantities -------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    @property
    def macs(self) -> np.ndarray:
        """MACs per layer: N*C*M*R*S*P*Q*G."""
        return self.N * self.C * self.M * self.R * self.S * self.P * self.Q * self.G

    @property
    def weights(self) -> np.ndarray:
        """Weights per layer: C*M*R*S*G (for dynamic layers: the run-time operand's size)."""
        return self.C * self.M * self.R * self.S * self.G

    @property
    def xbar_rows(self) -> np.ndarray:
        """Crossbar rows one group's matrix needs: C*R*S."""
        return self.C * self.R * self.S

    def weight_slices(self, bits_per_cell: int | np.ndarray) -> np.ndarray:
        """Cells per weight: ceil(weight_bits / bits_per_cell), broadcast over designs."""
        bpc = np.asarray(bits_per_cell)
        return -(-self.weight_bits // np.minimum(bpc, self.weight_bits)) if bpc.ndim == 0 else (
            -(-self.weight_bits[None, :] // np.minimum(bpc[:, None], self.weight_bits[None, :]))
        )

    def xbar_cols(self, bits_per_cell: int | np.ndarray) -> np.ndarray:
        """Crossbar columns one group's matrix needs: M*ceil(weight_bits / bits_per_cell)."""
        return self.M * self.weight_slices(bits_per_cell)

    @property
    def total_macs(self) -> int:
        return int(self.macs.sum())

    @property
    def total_weights(self) -> int:
        return int(self.weights[~self.dynamic].sum())

    def to_frame(self) -> pd.DataFrame:
        """Layer table with explicit count columns (`macs`, `weights`)."""
        df = pd.DataFrame({f: getattr(self, f) for f in INT_FIELDS})
        df.insert(0, "layer", list(self.layer_names))
        df["dynamic"] = self.dynamic
        df["macs"] = self.macs
        df["weights"] = self.weights
        return df

    def __repr__(self) -> str:
        return (f"Workload({self.name!r}, layers={self.n_layers}, macs={self.total_macs:.3e}, "
                f"weights={self.total_weights:.3e})")

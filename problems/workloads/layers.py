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

from problems.errors import ImcoptError, short

#: integer per-layer fields, in table order
INT_FIELDS: tuple[str, ...] = (
    "N", "C", "M", "R", "S", "P", "Q", "G",
    "h_stride", "w_stride", "h_dilation", "w_dilation",
    "input_bits", "weight_bits", "output_bits",
)
#: counts must stay below this (int64); products are checked in float64 first
INT64_LIMIT = float(2**63)
#: largest single dimension or bit width: keeps the packing's factorisation fast and every
#: product of a few dimensions far from int64 overflow (real layers are < 1e6)
MAX_DIMENSION = 2**31 - 1
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
        values: dict[str, np.ndarray] = {}
        for f in INT_FIELDS:
            arr = np.asarray(getattr(self, f))
            if arr.shape != (n,):
                raise ImcoptError(
                    f"workload '{self.name}': field {f} has shape {arr.shape}, expected ({n},)"
                )
            # float64 for the checks: a value beyond int64 must become an error, not wrap
            arr = arr.astype(float) if np.issubdtype(arr.dtype, np.integer) else \
                self._as_integers(f, arr)
            if np.any(arr <= 0):
                bad = int(np.flatnonzero(arr <= 0)[0])
                raise ImcoptError(
                    f"{self._where(bad)} field {f} = {arr[bad]:.0f} must be a positive integer"
                )
            values[f] = arr
        self._check_sizes(values)
        for f in INT_FIELDS:
            arr = values[f].astype(np.int64)  # exact: every value is <= MAX_DIMENSION
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)
        dyn = np.zeros(n, bool) if self.dynamic is None else np.asarray(self.dynamic, bool)
        if dyn.shape != (n,):
            raise ImcoptError(f"workload '{self.name}': field dynamic has shape {dyn.shape}")
        dyn.setflags(write=False)
        object.__setattr__(self, "dynamic", dyn)
        object.__setattr__(self, "layer_names", tuple(str(s) for s in self.layer_names))

    def _where(self, i: int) -> str:
        return (f"workload '{self.name}' ({self.source or 'in memory'}): layer "
                f"'{self.layer_names[i]}'")

    def _as_integers(self, field_name: str, arr: np.ndarray) -> np.ndarray:
        """Whole numbers given as floats/strings/Python ints -> float64 (checked for size
        later); anything else names the layer."""
        out = np.empty(arr.shape, float)
        for i, v in enumerate(arr):
            try:
                fv = float(v)
            except (TypeError, ValueError, OverflowError):
                fv = float("nan")
            if not np.isfinite(fv) or fv != round(fv):
                raise ImcoptError(
                    f"{self._where(i)} field {field_name} = {short(str(v))} is not an integer"
                )
            out[i] = fv
        return out

    def _check_sizes(self, v: dict[str, np.ndarray]) -> None:
        """Every count the cost models form in int64 must fit (else it wraps silently):
        MACs, weight bits and the input/output tensor sizes in bits (at least 8 bits per
        value, as the CiMLoop model counts), per layer and summed per network; and each
        dimension at most MAX_DIMENSION."""
        h_in = (v["P"] - 1) * v["h_stride"] + (v["R"] - 1) * v["h_dilation"] + 1
        w_in = (v["Q"] - 1) * v["w_stride"] + (v["S"] - 1) * v["w_dilation"] + 1
        bits = {b: np.maximum(v[b], 8.0) for b in ("input_bits", "weight_bits", "output_bits")}
        macs = v["N"] * v["C"] * v["M"] * v["R"] * v["S"] * v["P"] * v["Q"] * v["G"]
        products = {
            "macs (N*C*M*R*S*P*Q*G)": macs,
            "weight bits (C*M*R*S*G*weight_bits)": (v["C"] * v["M"] * v["R"] * v["S"] * v["G"]
                                                    * bits["weight_bits"]),
            "input tensor bits (N*C*G*H_in*W_in*input_bits)": (v["N"] * v["C"] * v["G"] * h_in
                                                               * w_in * bits["input_bits"]),
            "output tensor bits (N*M*G*P*Q*output_bits)": (v["N"] * v["M"] * v["G"] * v["P"]
                                                           * v["Q"] * bits["output_bits"]),
        }
        for what, prod in products.items():
            # float64 products are within 1e-15 of exact (one just below 2**63 may be refused)
            if np.any(prod >= INT64_LIMIT):
                i = int(np.flatnonzero(prod >= INT64_LIMIT)[0])
                big = ", ".join(f"{f} = {v[f][i]:.0f}" for f in INT_FIELDS[:8] if v[f][i] > 1)
                raise ImcoptError(
                    f"{self._where(i)}: {what} = {prod[i]:.3g} overflows int64 (max "
                    f"{INT64_LIMIT:.3g}) with {big}")
        if macs.sum() >= INT64_LIMIT:
            raise ImcoptError(f"workload '{self.name}' ({self.source or 'in memory'}): total "
                              f"macs over all layers = {macs.sum():.3g} overflows int64")
        for f in INT_FIELDS:
            if np.any(v[f] > MAX_DIMENSION):
                i = int(np.flatnonzero(v[f] > MAX_DIMENSION)[0])
                raise ImcoptError(f"{self._where(i)} field {f} = {v[f][i]:.0f} exceeds the "
                                  f"largest supported value {MAX_DIMENSION}")

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

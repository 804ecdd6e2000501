"""The mapping of the ``physical`` convention: what is placed where, how often it is replicated,
how grouped layers are packed. The third thing next to the workload (`problems.workloads`)
and the hardware (`design.py`), as in ZigZag; the action counts (`physical_counts.py`) and the
per-action costs (`physical.py`) follow from it.

Placement (weight-stationary), per layer:
- Each of a layer's G group matrices (C*R*S rows x M*slices columns, slices = ceil(weight_bits
  / bits_per_cell)) is tiled onto ceil(rows / xbar_rows) x ceil(cols / xbar_cols) crossbars.
- Grouped / depthwise layers, ``packing: block-diagonal`` (default): when one group's matrix
  fits a crossbar, k groups share it on the diagonal (group j on rows j*r..(j+1)*r and columns
  j*c..(j+1)*c), k <= min(floor(xbar_rows / r), floor(xbar_cols / c), G); the number of
  crossbars ceil(G / k_max) is the minimum for this placement and the groups are spread evenly
  over them (k = ceil(G / n), the least wasted-cell reads for that count). All of an array's
  groups' rows are driven together and each column converts its own group only: the cells
  off the diagonal hold zero weights (RRAM high-resistance state, SRAM zero) and are read on
  every step (their current reaches the column), so cell reads grow by sum_j k_j^2 / G; row
  activations and conversions (per group row and column, as one-per-group) are unchanged, and
  each column's sum has only C*R*S active rows (same ADC range). Dynamic (attention) layers,
  written at run time, keep one group per array (packing would serialise their writes).
  Check: with one crossbar per group a 3x3 depthwise kernel uses 9 of xbar_rows rows (7 % of
  128, 1.8 % of 512): the "extreme low" cell utilization of depthwise layers mapped to a
  crossbar (Zheng et al., MobiLattice, ICCAD 2020, abstract; it gives no number, nor did any
  source found, so the check is analytic); block-diagonal packing raises the cell occupancy of
  the crossbars it allocates to k*9*c / (rows*cols) (test_mapping.py checks it). The layout
  within an array is CrossSim's grouped-conv matrix (Sandia, sandialabs/cross-sim,
  AnalogConvolution.form_matrix: one block-diagonal matrix, zeros off the blocks), cut at
  group boundaries. The tiling reproduces VW-SDK's published im2col cycle counts (DATE 2022)
  exactly: tests/test_published_mapping.py.
- Residency and replication (`Deployment.residency`): a workload is resident when its static
  layers' crossbars fit the chip (``all-resident`` / ``per-workload``: checked per workload;
  ``co-resident``: the union of all workloads). Spare macros hold floor(n_macros / arrays)
  copies of every static layer that process output positions in parallel; not resident: one
  copy, a layer larger than the chip runs in ceil(arrays / n_macros) passes.
Everything is an array over mapping keys (xbar_rows, xbar_cols, bits_per_cell) x layers,
gathered to designs x layers; no loop over designs or layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from problems.hardware.deployment import Deployment
from problems.hardware.design import DesignBatch
from problems.workloads.stack import WorkloadStack


def key_codes(designs: DesignBatch) -> np.ndarray:
    """Each design's mapping key (xbar_rows, xbar_cols, bits_per_cell) as one integer."""
    d = designs
    return (d.xbar_rows * 8193 + d.xbar_cols) * 9 + d.bits_per_cell


@dataclass(frozen=True, eq=False)
class Tiling:
    """Placement of one copy of every layer per mapping key, arrays of shape (n_keys, n_layers).

    ``slices``: weight slices per weight; ``cols``: columns of one group's matrix;
    ``row_tiles`` / ``col_tiles``: crossbars per group matrix along rows / columns;
    ``groups_per_array``: most groups sharing one crossbar (block-diagonal; 1 otherwise);
    ``group_arrays``: crossbar sets the G groups occupy (ceil(G / k_max));
    ``arrays``: crossbars of one copy (row_tiles x col_tiles x group_arrays);
    ``rows_per_array``: rows written per crossbar (min(k x C*R*S, xbar_rows));
    ``read_factor``: cell reads per useful cell read (sum_j k_j^2 / G; 1 without packing);
    ``cells_allocated``: crossbar cells of one copy (arrays x rows x columns), wasted included.
    """

    slices: np.ndarray
    cols: np.ndarray
    row_tiles: np.ndarray
    col_tiles: np.ndarray
    groups_per_array: np.ndarray
    group_arrays: np.ndarray
    arrays: np.ndarray
    rows_per_array: np.ndarray
    read_factor: np.ndarray
    cells_allocated: np.ndarray


def tile(xbar_rows: np.ndarray, xbar_cols: np.ndarray, bits_per_cell: np.ndarray,
         stack: WorkloadStack, packing: str = "block-diagonal") -> Tiling:
    """`Tiling` of every layer for crossbars (xbar_rows, xbar_cols, bits_per_cell), each (n_k,)."""
    f = float
    xr = np.asarray(xbar_rows, f)[:, None]
    xc = np.asarray(xbar_cols, f)[:, None]
    rows = (stack.C * stack.R * stack.S).astype(f)
    G = stack.G.astype(f)
    slices = np.ceil(stack.weight_bits.astype(f) / np.asarray(bits_per_cell, f)[:, None])
    cols = stack.M.astype(f) * slices
    rt = np.ceil(rows / xr)
    ct = np.ceil(cols / xc)
    if packing == "block-diagonal":
        packable = (G > 1) & ~stack.dynamic
        k_max = np.minimum(np.minimum(np.floor(xr / rows), np.floor(xc / cols)), G)
        k_max = np.where(packable, np.maximum(k_max, 1.0), 1.0)
    else:
        k_max = np.ones_like(cols)
    n_sets = np.ceil(G / k_max)                          # = G where k_max = 1
    k = np.ceil(G / n_sets)
    q, r = np.floor(G / n_sets), G - np.floor(G / n_sets) * n_sets
    read_factor = (r * (q + 1.0) ** 2 + (n_sets - r) * q ** 2) / G
    arrays = rt * ct * n_sets
    return Tiling(slices=slices, cols=cols, row_tiles=rt, col_tiles=ct, groups_per_array=k,
                  group_arrays=n_sets, arrays=arrays,
                  rows_per_array=np.minimum(k * rows, xr), read_factor=read_factor,
                  cells_allocated=arrays * xr * xc)


@dataclass(frozen=True, eq=False)
class KeyTiling:
    """The `Tiling` of a batch's mapping keys (``codes``, sorted `key_codes`), computed once and
    shared by the blocks the batch is evaluated in."""

    codes: np.ndarray
    tiling: Tiling
    packing: str
    stack: WorkloadStack
    #: what the blocks derive from ``tiling`` and ``stack`` alone (`derive`)
    derived: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def derive(self, name: str, compute: Callable[[], dict[str, np.ndarray]]
               ) -> dict[str, np.ndarray]:
        """``compute()``, computed by the first block that asks for ``name`` and kept for the
        others."""
        if name not in self.derived:
            self.derived[name] = compute()
        return self.derived[name]

    def keys_of(self, designs: DesignBatch) -> np.ndarray:
        """Each design's row of ``tiling`` (its key must be one of ``codes``)."""
        code = key_codes(designs)
        at = np.minimum(np.searchsorted(self.codes, code), self.codes.size - 1)
        if not np.array_equal(self.codes[at], code):
            raise ValueError("a design's mapping key is not in this tiling")
        return at


def tile_keys(designs: DesignBatch, stack: WorkloadStack,
              packing: str = "block-diagonal") -> KeyTiling:
    """`KeyTiling` of every mapping key of ``designs``."""
    d = designs
    codes, first = np.unique(key_codes(d), return_index=True)
    return KeyTiling(codes=codes, packing=packing, stack=stack,
                     tiling=tile(d.xbar_rows[first], d.xbar_cols[first], d.bits_per_cell[first],
                                 stack, packing))


@dataclass(frozen=True, eq=False)
class Mapping:
    """The mapping of a workload stack on a design batch.

    ``tiling``: per mapping key (`Tiling`); ``key``: each design's key index (n_d,);
    ``arrays_w``: crossbars of one copy of each workload's static layers (n_d, n_w);
    ``resident_w``: static weights resident (n_d, n_w); ``copies_w``: copies of every static
    layer (n_d, n_w); ``copies_layer``: copies per layer, 1 for dynamic layers (n_d, n_l);
    ``big``: designs with a layer larger than the chip and ``passes_big`` their passes per
    layer (len(big), n_l).
    """

    tiling: Tiling
    key: np.ndarray
    arrays_w: np.ndarray
    resident_w: np.ndarray
    copies_w: np.ndarray
    copies_layer: np.ndarray
    big: np.ndarray
    passes_big: np.ndarray

    def passes(self, n_designs: int, n_layers: int) -> np.ndarray:
        """Passes per design x layer (1 except where a layer exceeds the chip)."""
        out = np.ones((n_designs, n_layers))
        out[self.big] = self.passes_big
        return out


def map_workloads(designs: DesignBatch, stack: WorkloadStack,
                  deployment: Deployment | None = None,
                  tiling: KeyTiling | None = None) -> Mapping:
    """Place every layer of ``stack`` on every design (vectorized; see the module docstring).
    ``tiling``: the tiling of a batch these designs are a block of (`tile_keys`, computed once
    for all blocks), or None to tile their keys here."""
    dep = deployment or Deployment()
    d = designs
    if tiling is None:
        tiling = tile_keys(d, stack, dep.packing)
    elif tiling.packing != dep.packing:
        raise ValueError(f"tiling packed {tiling.packing!r}, deployment {dep.packing!r}")
    elif tiling.stack is not stack:
        raise ValueError("tiling of another workload stack")
    t, inv = tiling.tiling, tiling.keys_of(d)
    static = (~stack.dynamic).astype(float)
    arrays_w = (t.arrays @ (stack.membership * static[:, None]))[inv]
    nm = d.n_macros.astype(float)[:, None]
    if dep.residency == "co-resident":
        total = arrays_w.sum(axis=1, keepdims=True)
        resident_w = np.broadcast_to(total <= nm, arrays_w.shape).copy()
        copies_w = np.where(resident_w, np.floor(nm / np.maximum(total, 1.0)), 1.0)
    else:
        resident_w = arrays_w <= nm
        copies_w = np.where(resident_w, np.floor(nm / np.maximum(arrays_w, 1.0)), 1.0)
    copies = np.take(copies_w, stack.workload_index, axis=1)
    copies[:, np.flatnonzero(stack.dynamic)] = 1.0
    # a layer larger than the whole chip runs in ceil(arrays / n_macros) passes (rare: done on
    # the affected designs only)
    big = np.flatnonzero(t.arrays.max(axis=1)[inv] > nm[:, 0])
    passes_big = np.ceil(t.arrays[inv[big]] / nm[big])
    return Mapping(tiling=t, key=inv, arrays_w=arrays_w, resident_w=resident_w,
                   copies_w=copies_w, copies_layer=copies, big=big, passes_big=passes_big)

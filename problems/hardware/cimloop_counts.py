"""Action counts of the ``cimloop`` convention, per mapping structure (CIMLOOP_MODEL.md §3.5).

The packing, and so every action count, depends only on the mapping structure of a design:
memory, weight slices, crossbar rows / columns, macros per tile, tiles per group, router groups.
`structure_counts` computes the counts once per distinct structure, summed per workload, and
memoizes them across calls (`CountsMemo`: GA populations and enumeration slices repeat the
same structures under many voltages, cycle times and buffer sizes). The per-layer work runs
once per distinct layer shape of the workload stack.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from problems.hardware import cimloop_components as cc
from problems.hardware.cimloop_data import average_input_values
from problems.hardware.cimloop_kernel import SUMMED, summed_counts
from problems.hardware.design import DesignBatch
from problems.hardware.packing import (
    DEFAULT_CACHE,
    DIM_INDEX,
    WEIGHT_DIMS,
    Packing,
    pack,
    weight_slices,
)
from problems.workloads.layers import INT_FIELDS
from problems.workloads.stack import WorkloadStack

#: per-workload counts, (n_structures, n_workloads) each
COUNT_NAMES: tuple[str, ...] = (
    "cell_reads_active", "row_reads_active", "conversions", "cells_filled",
    "glb_input_read_bits", "glb_output_bits", "router_bits", "input_buffer_bits",
    "output_buffer_bits", "busy_s", "cell_busy_s", "macs_per_cycle_max", "placed",
)
_LAYER_DIMS = ("N", "C", "M", "R", "S", "P", "Q", "G")
_UP = ("tile_in_chip", "shared_router_group")
_CODE_BITS = 11                 # distinct values per structure parameter in the memo's codes
MEMO_MAX_ELEMENTS = 1_000_000   # structures x workloads kept per workload stack (~120 MB)
MEMO_MAX_STACKS = 4             # workload stacks kept


def tensor_bits(N: np.ndarray, C: np.ndarray, M: np.ndarray, G: np.ndarray, R: np.ndarray,
                S: np.ndarray, P: np.ndarray, Q: np.ndarray, h_stride: np.ndarray,
                w_stride: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) tensor bits per layer, float: N x C x G x ((P-1) hs + R) x
    ((Q-1) ws + S) x 8 (the input tensor with the layer's strides; CM §6.9 guessed stride 1
    from the YAML spelling, the stored energies prefer the strides, mobilenet_v3 most) and
    N x M x G x P x Q x 8."""
    in_bits = (N * C * G * ((P - 1) * h_stride + R) * ((Q - 1) * w_stride + S)
               * cc.INPUT_BITS).astype(float)
    return in_bits, (N * M * G * P * Q * cc.OUTPUT_BITS).astype(float)


def spatial_factors(pk: Packing, levels: tuple[str, ...] | None = None) -> np.ndarray:
    """Product of every dimension's spatial factors over packing levels (all by default),
    (n_d, n_l, len(DIMS)) int64."""
    names = levels or tuple(pk.factors)
    out = pk.factors[names[0]].astype(np.int64)
    for name in names[1:]:
        out *= pk.factors[name]
    return out


def spatial_output_bits(sp: np.ndarray) -> np.ndarray:
    """Output bits the arrays produce in one cycle: N x G x M x P x Q spatial factors x 8."""
    i = DIM_INDEX
    return (float(cc.OUTPUT_BITS) * sp[..., i["N"]] * sp[..., i["G"]] * sp[..., i["M"]]
            * sp[..., i["P"]] * sp[..., i["Q"]])


def spatial_input_bits(sp: np.ndarray, h_stride: np.ndarray | int = 1,
                       w_stride: np.ndarray | int = 1) -> np.ndarray:
    """Input bits the arrays consume in one cycle: N x G x C x ((P-1) hs + R) x ((Q-1) ws + S)
    over the spatial factors, x 8 bits."""
    i = DIM_INDEX
    return (sp[..., i["N"]] * sp[..., i["G"]] * sp[..., i["C"]]
            * ((sp[..., i["P"]] - 1) * h_stride + sp[..., i["R"]])
            * ((sp[..., i["Q"]] - 1) * w_stride + sp[..., i["S"]]) * float(cc.INPUT_BITS))


def cells_filled(pk: Packing) -> np.ndarray:
    """Cell fills per design-layer: occupied cells (arrays x rows x columns used, including
    the weight copies over output positions) x weight tiles streamed (the temporal weight
    leftovers), i.e. Timeloop's fill count of the one-weight ``cim_unit`` (CM §1)."""
    tiles = np.ones(pk.cycles.shape)
    for d in WEIGHT_DIMS:
        tiles = tiles * pk.left[..., DIM_INDEX[d]]
    return (pk.arrays_used * pk.rows_used * pk.cols_used).astype(float) * tiles


def _structure_columns(designs: DesignBatch) -> tuple[np.ndarray, ...]:
    d = designs
    slices = -(-8 // np.minimum(d.bits_per_cell.astype(np.int64), 8))
    return (d.is_sram.astype(np.int64) * 9 + slices, d.xbar_rows, d.xbar_cols,
            d.macros_per_tile, d.tiles_per_group, d.router_groups)


def structures(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """Distinct mapping structures of a batch: (index of one design per structure, each
    design's structure)."""
    key = np.stack(_structure_columns(designs), 1).astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def _layer_classes(stack: WorkloadStack, act: np.ndarray) -> dict[str, np.ndarray]:
    """Distinct layer shapes of a stack (the packing and every count but the activity-weighted
    ones depend only on the shape) and their per-workload weights: ``first`` (one layer per
    class), ``count`` / ``macs`` / ``macs_active`` (n_classes, n_w): how many layers of each
    workload have that shape, their MACs, their MACs x ai / AVG_INPUT; ``members``: per
    workload, the classes present."""
    key = np.stack([getattr(stack, k) for k in (*_LAYER_DIMS, "h_stride", "w_stride")], 1)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    at = (inv, stack.workload_index)
    shape = (first.size, stack.n_workloads)
    count, macs, macs_active = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    m = stack.macs.astype(float)
    np.add.at(count, at, 1.0)
    np.add.at(macs, at, m)
    np.add.at(macs_active, at, m * act)
    return {"first": first, "count": count, "macs": macs, "macs_active": macs_active,
            "members": [np.flatnonzero(count[:, w]) for w in range(stack.n_workloads)]}


def counts_reference(designs: DesignBatch, stack: WorkloadStack, act: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """`COUNT_NAMES` of every design of ``designs`` (one per structure), (n_d, n_w), in numpy
    over (structures x layer classes) arrays: the readable statement of the counts, and the
    oracle of the compiled `_compute` (`cimloop_kernel`)."""
    d = designs
    sram = d.is_sram[:, None]
    lc = _layer_classes(stack, act)
    u = lc["first"]
    layers = {k: getattr(stack, k)[u] for k in _LAYER_DIMS}
    pk = pack(layers, d.is_sram, d.bits_per_cell, d.xbar_rows, d.xbar_cols,
              d.macros_per_tile, d.tiles_per_group, d.router_groups)
    i = DIM_INDEX
    cycles = pk.cycles.astype(float)
    slices = pk.slices.astype(float)[:, None]
    N, C, M, G = (layers[k] for k in ("N", "C", "M", "G"))
    R, S, P, Q = (layers[k] for k in ("R", "S", "P", "Q"))
    hs, ws = stack.h_stride[u], stack.w_stride[u]
    in_bits, out_bits = (b[None, :] for b in tensor_bits(N, C, M, G, R, S, P, Q, hs, ws))
    # activation traffic: outputs once per reduction pass, inputs once per weight pass (SRAM)
    lv = pk.left
    red_left = (lv[..., i["C"]] * lv[..., i["R"]] * lv[..., i["S"]] * lv[..., i["Y"]]
                ).astype(float)
    rep_left = (lv[..., i["M"]] * lv[..., i["Y"]]).astype(float)
    t_out = np.where(sram, red_left, 1.0)
    t_in = np.where(sram, rep_left, 1.0)
    sp_up = spatial_factors(pk, _UP)
    sp = sp_up * spatial_factors(pk, ("row", "column", "macro_in_tile"))
    red_up = (sp_up[..., i["C"]] * sp_up[..., i["R"]] * sp_up[..., i["S"]]
              * sp_up[..., i["Y"]]).astype(float)
    mc_up = sp_up[..., i["M"]].astype(float)
    in_per_cycle = spatial_input_bits(sp, hs, ws) * cycles
    cells_used = (pk.arrays_used * pk.rows_used * pk.cols_used).astype(float)
    # per layer class, summed per workload with the class weights: (value, weight matrix)
    per_class = {
        # row reads = cell reads (MACs x slices) / columns used per array, x activity
        "row_reads_active": (slices / pk.cols_used, lc["macs_active"]),
        # ADC conversions = cell reads / rows used per array
        "conversions": (slices / pk.rows_used, lc["macs"]),
        # SRAM weight loading (CM §3.5, §6.6): each weight bit fetched once from DRAM
        # (multicast to its copies); every occupied cell of every weight tile written
        "cells_filled": (cells_filled(pk), lc["count"]),
        # GLB input reads: every cycle the GLB sends the spatial input tile
        "glb_input_read_bits": (in_per_cycle, lc["count"]),
        "glb_output_bits": (out_bits * t_out, lc["count"]),
        "router_bits": (in_bits * t_in * mc_up + out_bits * t_out * red_up, lc["count"]),
        # tile buffers, per cycle: every used tile receives its input tile (copies for the
        # output-channel / weight-slice factors above the tile) and collects its output tile
        # (partial sums of the reduction factors above the tile)
        "input_buffer_bits": (in_per_cycle * mc_up * sp_up[..., i["Y"]], lc["count"]),
        "output_buffer_bits": (spatial_output_bits(sp) * cycles * red_up, lc["count"]),
        "busy_s": (cycles, lc["count"]),
        "cell_busy_s": (cycles * cells_used, lc["count"]),
    }
    out = {k: v @ w for k, (v, w) in per_class.items()}
    # cell reads = MACs x slices, x activity
    out["cell_reads_active"] = slices * lc["macs_active"].sum(axis=0)[None, :]
    cells = d.n_cells.astype(float)
    mpc = stack.macs[u].astype(float)[None, :] / cycles
    out["macs_per_cycle_max"] = np.stack(
        [mpc[:, m].max(axis=1) for m in lc["members"]], 1) / cells[:, None]
    out["placed"] = np.stack([pk.weights_placed[:, m].all(axis=1) for m in lc["members"]], 1)
    return out


def class_layers(stack: WorkloadStack, classes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What `cimloop_kernel.summed_counts` reads of each layer class (`_layer_classes`): its
    shape, strides, MACs and tensor bits."""
    u = classes["first"]
    layers = {k: getattr(stack, k)[u] for k in (*_LAYER_DIMS, "h_stride", "w_stride", "macs")}
    layers["in_bits"], layers["out_bits"] = tensor_bits(
        *(layers[k] for k in ("N", "C", "M", "G", "R", "S", "P", "Q", "h_stride", "w_stride")))
    return layers


def _compute(designs: DesignBatch, stack: WorkloadStack, act: np.ndarray
             ) -> dict[str, np.ndarray]:
    """`COUNT_NAMES` of every design of ``designs`` (one per structure), (n_d, n_w), by the
    compiled kernel; the per-layer work runs once per distinct layer shape."""
    lc = _layer_classes(stack, act)
    got = summed_counts(designs, lc, class_layers(stack, lc), DEFAULT_CACHE)
    out = {k: got[k] for k in SUMMED}
    out["cell_reads_active"] = (weight_slices(designs.bits_per_cell)[1].astype(float)[:, None]
                                * lc["macs_active"].sum(axis=0)[None, :])
    out["macs_per_cycle_max"] = got["mpc"] / designs.n_cells.astype(float)[:, None]
    out["placed"] = got["placed"]
    return out


class _Entries:
    """Memoized counts of one workload stack: sorted structure codes -> rows of the arrays
    (appended into buffers that double when full, so adding is amortized O(new))."""

    def __init__(self) -> None:
        self.codes = np.zeros(0, np.int64)
        self.rows = np.zeros(0, np.int64)
        self._data: dict[str, np.ndarray] = {}

    @property
    def n(self) -> int:
        return int(self.codes.size)

    def add(self, codes: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Add the entries of ``codes`` (sorted, none present yet)."""
        start, n_new = self.n, codes.size
        for k, v in values.items():
            buf = self._data.get(k)
            if buf is None or buf.shape[0] < start + n_new:
                grown = np.empty((max(2 * start, start + n_new), *v.shape[1:]), v.dtype)
                if buf is not None:
                    grown[:start] = buf[:start]
                buf = self._data[k] = grown
            buf[start:start + n_new] = v
        pos = np.searchsorted(self.codes, codes)
        self.codes = np.insert(self.codes, pos, codes)
        self.rows = np.insert(self.rows, pos, start + np.arange(n_new))

    def gather(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The memoized arrays at ``rows``."""
        return {k: v[rows] for k, v in self._data.items()}


class CountsMemo:
    """Per-structure counts of earlier batches, keyed by workload stack and structure.

    Structure parameters are coded by the order their values were first seen
    (``_CODE_BITS`` bits each, one int64 per structure); a parameter with more distinct values
    than that turns the memo off (counts are then computed per batch)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._values: list[dict[int, int]] = [{} for _ in range(6)]
        self._stacks: dict[bytes, _Entries] = {}

    def codes(self, designs: DesignBatch) -> np.ndarray | None:
        """One int64 per design identifying its structure (None: too many distinct values)."""
        code = np.zeros(len(designs), np.int64)
        for col, seen in zip(_structure_columns(designs), self._values, strict=True):
            uniq, inv = np.unique(col, return_inverse=True)
            for v in uniq.tolist():
                seen.setdefault(v, len(seen))
            if len(seen) >= 1 << _CODE_BITS:
                return None
            idx = np.array([seen[v] for v in uniq.tolist()], np.int64)
            code = (code << _CODE_BITS) | idx[inv.reshape(-1)]
        return code

    def entries(self, key: bytes, n_workloads: int) -> _Entries:
        """The memo of one workload stack (emptied when full; the oldest stack's memo is
        dropped beyond MEMO_MAX_STACKS)."""
        e = self._stacks.get(key)
        if e is None or e.n * n_workloads > MEMO_MAX_ELEMENTS:
            while len(self._stacks) >= MEMO_MAX_STACKS and key not in self._stacks:
                del self._stacks[next(iter(self._stacks))]
            e = self._stacks[key] = _Entries()
        return e


DEFAULT_MEMO = CountsMemo()


def _stack_key(stack: WorkloadStack, average_inputs: str | Path | None) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for f in (*INT_FIELDS, "dynamic", "offsets"):
        h.update(np.ascontiguousarray(getattr(stack, f), np.int64).tobytes())
    h.update("\0".join(stack.names).encode())
    h.update(str(average_inputs).encode())
    return h.digest()


def structure_counts(designs: DesignBatch, stack: WorkloadStack,
                     average_inputs: str | Path | None = None,
                     memo: CountsMemo | None = DEFAULT_MEMO) -> dict[str, np.ndarray]:
    """Per-structure action counts summed per workload, (n_structures, n_workloads), and
    ``inverse`` (each design's structure).

    Counts (CM §3.5): cell reads = MACs x slices; row reads = cell reads / columns used per
    array; conversions = cell reads / rows used per array; the ``*_active`` ones weighted by
    each layer's input activity ai / AVG_INPUT (CM §4); ``busy_s`` (cycles) and
    ``cell_busy_s`` (cells in use x cycles) are per cycle time; ``macs_per_cycle_max``: max
    over a workload's layers of MACs per cycle and cell; ``placed``: all weights placed.
    ``memo=None`` computes without memoization."""
    codes = memo.codes(designs) if memo is not None else None
    if codes is None:
        first, inv = structures(designs)
        act = average_input_values(stack, average_inputs) / cc.AVG_INPUT
        out = _compute(designs.take(first), stack, act)
        out["inverse"] = inv
        return out
    uniq, first, inv = np.unique(codes, return_index=True, return_inverse=True)
    entries = memo.entries(_stack_key(stack, average_inputs), stack.n_workloads)
    pos = np.searchsorted(entries.codes, uniq)
    if entries.n:
        hit = entries.codes[np.minimum(pos, entries.n - 1)] == uniq
    else:
        hit = np.zeros(uniq.size, bool)
    if not np.all(hit):
        act = average_input_values(stack, average_inputs) / cc.AVG_INPUT
        entries.add(uniq[~hit], _compute(designs.take(first[~hit]), stack, act))
        pos = np.searchsorted(entries.codes, uniq)
    rows = entries.rows[pos]
    out = entries.gather(rows)
    out["inverse"] = inv.reshape(-1)
    return out

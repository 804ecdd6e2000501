"""Small workloads and a small search space for the search / objective / problem tests."""

from __future__ import annotations

import numpy as np

from problems.spaces import SearchSpace, Variable
from problems.workloads.layers import Workload


def tiny_workloads() -> list[Workload]:
    """Three small networks (2, 2, 1 layers); the third has the most weights."""
    conv = {"R": 3, "S": 3}
    return [
        Workload.from_records("a", [{"C": 3, "M": 16, "P": 16, "Q": 16, **conv},
                                    {"C": 256, "M": 10, "R": 1, "S": 1, "P": 1, "Q": 1}]),
        Workload.from_records("b", [{"C": 16, "M": 32, "P": 8, "Q": 8, **conv},
                                    {"C": 32, "M": 64, "R": 1, "S": 1, "P": 8, "Q": 8}]),
        Workload.from_records("c", [{"C": 64, "M": 128, "P": 4, "Q": 4, **conv}]),
    ]


def tiny_space(memory: str = "RRAM") -> SearchSpace:
    """256 designs; from nothing fits (2,048 cells) to everything fits (1 M cells)."""
    return SearchSpace("tiny", [
        Variable("voltage_v", np.array([0.6, 0.8]), "V"),
        Variable("bits_per_cell", np.array([1, 4]), "bit"),
        Variable("cycle_time_s", np.array([2e-9, 1e-8]), "s"),
        Variable("xbar_rows", np.array([32, 128]), "rows"),
        Variable("xbar_cols", np.array([32, 128]), "columns"),
        Variable("router_groups", np.array([1, 2]), "groups"),
        Variable("tiles_per_group", np.array([1, 4]), "tiles"),
        Variable("macros_per_tile", np.array([2, 8]), "macros"),
    ], fixed={"memory": memory, "glb_bytes": 2**20})


def sub_space(space: SearchSpace, rng: np.random.Generator, max_size: int = 300,
              max_values: int = 3) -> SearchSpace:
    """A random sub-space of ``space``: 1..max_values values of every variable, at most
    ``max_size`` designs (the largest value lists shortened first)."""
    picks = [np.sort(rng.choice(v.cardinality,
                                size=min(v.cardinality, int(rng.integers(1, max_values + 1))),
                                replace=False)) for v in space.variables]
    while int(np.prod([p.size for p in picks])) > max_size:
        i = int(np.argmax([p.size for p in picks]))
        picks[i] = picks[i][:-1]
    variables = [Variable(v.name, v.values[p], v.unit)
                 for v, p in zip(space.variables, picks, strict=True)]
    return SearchSpace(f"{space.name}-sub", variables, fixed=space.fixed)

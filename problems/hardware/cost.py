"""The cost model's single entry point: `evaluate(designs, workloads, convention)`.

The conventions are registered cost models (`problems.hardware.registry`); each result names
its convention.
"""

from __future__ import annotations

from collections.abc import Sequence

from problems.hardware.design import DesignBatch
from problems.hardware.registry import CONVENTIONS, DEFAULT_CONVENTION, get_cost_model
from problems.hardware.result import CostResult
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

__all__ = ["CONVENTIONS", "DEFAULT_CONVENTION", "evaluate", "evaluate_chunked"]


def _stack(workloads: WorkloadStack | Sequence[Workload] | Workload) -> WorkloadStack:
    return workloads if isinstance(workloads, WorkloadStack) else WorkloadStack.of(workloads)


def evaluate(
    designs: DesignBatch,
    workloads: WorkloadStack | Sequence[Workload] | Workload,
    convention: str = DEFAULT_CONVENTION,
    breakdown: bool = False,
) -> CostResult:
    """Energy, latency, area (and breakdowns on request) of every design on every workload.

    Fully vectorized over designs x layers; returns arrays of shape (n_designs, n_workloads).
    """
    return get_cost_model(convention).evaluate(designs, _stack(workloads), breakdown=breakdown)


def evaluate_chunked(
    designs: DesignBatch,
    workloads: WorkloadStack | Sequence[Workload] | Workload,
    convention: str = DEFAULT_CONVENTION,
    chunk: int = 20_000,
) -> CostResult:
    """`evaluate` in chunks of designs, bounding memory to O(chunk x n_layers); the
    convention's checks run once, on the whole batch."""
    stack = _stack(workloads)
    model = get_cost_model(convention)
    model.check(designs, stack)
    parts = [model._evaluate(designs.take(slice(i, i + chunk)), stack, False)
             for i in range(0, len(designs), chunk)]
    return CostResult.concat(parts)

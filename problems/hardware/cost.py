"""The cost model's single entry point: `evaluate(designs, workloads, convention)`.

Two accounting conventions (named in every result):
- ``"cimloop"`` reproduces what the paper's CiMLoop evaluator counted (CIMLOOP_MODEL.md);
- ``"physical"`` counts what the hardware must do (default for new studies).
"""

from __future__ import annotations

from collections.abc import Sequence

from problems.errors import ImcoptError
from problems.hardware.design import DesignBatch
from problems.hardware.result import CostResult
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

CONVENTIONS: tuple[str, ...] = ("physical", "cimloop")
DEFAULT_CONVENTION = "physical"


def evaluate(
    designs: DesignBatch,
    workloads: WorkloadStack | Sequence[Workload] | Workload,
    convention: str = DEFAULT_CONVENTION,
    breakdown: bool = False,
) -> CostResult:
    """Energy, latency, area (and breakdowns on request) of every design on every workload.

    Fully vectorized over designs x layers; returns arrays of shape (n_designs, n_workloads).
    """
    stack = workloads if isinstance(workloads, WorkloadStack) else WorkloadStack.of(workloads)
    if convention not in CONVENTIONS:
        raise ImcoptError(f"unknown accounting convention {convention!r}; allowed: "
                          f"{list(CONVENTIONS)}")
    if len(designs) == 0:
        raise ImcoptError("no designs to evaluate")
    if convention == "cimloop":
        from problems.hardware.cimloop import evaluate_cimloop as impl
    else:
        from problems.hardware.physical import evaluate_physical as impl
    return impl(designs, stack, breakdown=breakdown)


def evaluate_chunked(
    designs: DesignBatch,
    workloads: WorkloadStack | Sequence[Workload] | Workload,
    convention: str = DEFAULT_CONVENTION,
    chunk: int = 20_000,
) -> CostResult:
    """`evaluate` in chunks of designs, bounding memory to O(chunk x n_layers)."""
    stack = workloads if isinstance(workloads, WorkloadStack) else WorkloadStack.of(workloads)
    parts = [evaluate(designs.take(slice(i, i + chunk)), stack, convention)
             for i in range(0, len(designs), chunk)]
    return CostResult.concat(parts)

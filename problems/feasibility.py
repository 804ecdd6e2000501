"""Why one design is (in)feasible: the search's own constraints, explained in words.

The verdict is `JointIMCProblem`'s (its constraint vector ``G``: area budget, model-valid and
resident weights per workload); this module only evaluates the design as a one-point space and
turns each violated constraint into a sentence. Membership of a named search space is checked
with `SearchSpace.encode` (the same test a study uses to place a design in its space).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from problems.errors import ImcoptError
from problems.hardware.design import MEMORY_TYPES, RRAM, DesignBatch
from problems.hardware.result import CostResult
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace, Variable
from problems.workloads.layers import Workload


@dataclass(frozen=True)
class Feasibility:
    """Verdict for one design: ``feasible`` and, if not, one reason per violated rule."""

    feasible: bool
    area_mm2: float
    area_budget_mm2: float
    space: str | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"feasible": self.feasible, "area_mm2": self.area_mm2,
                "area_budget_mm2": self.area_budget_mm2, "space": self.space,
                "reasons": list(self.reasons)}


def point_space(design: DesignBatch) -> SearchSpace:
    """The one-design search space {design} (every parameter fixed but a 1-value memory)."""
    if len(design) != 1:
        raise ImcoptError("a feasibility check takes exactly one design")
    rec = design.to_records()[0]
    fixed = {k: v for k, v in rec.items() if k != "memory"}
    code = MEMORY_TYPES.index(str(rec["memory"]))
    return SearchSpace("design", [Variable("memory", np.array([code]), "type")], fixed=fixed)


def check_feasibility(design: DesignBatch, workloads: Sequence[Workload], convention: str,
                      cost: CostResult, area_budget_mm2: float | None = None,
                      space: SearchSpace | None = None) -> Feasibility:
    """Feasibility of ``design`` as a study would judge it, with reasons.

    ``cost`` is the design's `CostResult` on ``workloads`` (used only to say WHY a workload
    constraint fails: not mappable vs. weights not resident). ``area_budget_mm2`` defaults to
    the objective's default budget.
    """
    objective = ObjectiveConfig() if area_budget_mm2 is None else \
        ObjectiveConfig(area_budget_mm2=float(area_budget_mm2))
    reasons: list[str] = []
    if space is not None:
        try:
            space.encode(design)
        except ImcoptError as exc:
            reasons.append(f"not a design of the space: {exc}")
    problem = JointIMCProblem(point_space(design), list(workloads), objective, convention)
    out = problem.evaluate_batch(np.zeros((1, 1), dtype=np.int64))
    G = out["G"][0]
    area = float(out["area_mm2"][0])
    budget = objective.area_budget_mm2
    if G[0] > 0:
        reasons.append(f"area {area:.4g} mm² exceeds the budget {budget:g} mm²"
                       if np.isfinite(area) and area > 0 else
                       f"area {area} mm² is not a positive finite number")
    rram = int(design.memory[0]) == RRAM
    for w, name in enumerate(problem.workload_names):
        if G[2 + w] <= 0:
            continue
        if not cost.valid[0, w]:
            reasons.append(f"workload {name}: the cost model cannot map it on this design")
        elif rram and not cost.weights_resident[0, w]:
            reasons.append(f"workload {name}: its weights do not fit on the chip (RRAM keeps "
                           f"every weight resident)")
        else:
            reasons.append(f"workload {name}: energy or latency is not a positive finite "
                           f"number")
    feasible = bool(out["feasible"][0]) and not reasons
    if not feasible and not reasons:
        reasons.append("the aggregated score is not finite")
    return Feasibility(feasible=feasible, area_mm2=area, area_budget_mm2=budget,
                       space=None if space is None else space.name, reasons=reasons)

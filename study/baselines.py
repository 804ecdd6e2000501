"""Baseline designs: the largest-workload design and per-workload specialists.

- largest-workload design: optimised for the workload with the most (static) weights alone,
  then deployed on every workload of the set (PAPER.md "Baselines");
- specialists: each workload optimised alone (the per-workload lower bound).

Both are found with the same optimizer as the joint design (:func:`run_algorithm` on a
single-workload variant of the problem, same budget and seed), and re-scored on the joint
problem with :func:`deploy`. :func:`paper_protocol` repeats that for many seeds (the paper's own
protocol: each baseline from ONE optimizer run) and :func:`protocol_gains` turns joint and
baseline EDAPs into the paper's two figures (reduction vs the largest-workload design, loss vs
the specialists), so they can be set beside the same figures with exact baselines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from study.algorithms import DEFAULT_BUDGET, run_algorithm
from study.archive import Archive


@dataclass
class BaselineDesign:
    """One baseline: the design (index vector) and the search that found it."""

    kind: str  # "largest" | "specialist"
    workload: str
    x: np.ndarray
    score_alone: float  # its score on the single-workload problem
    archive: Archive | None = None


def workload_weights(problem: Any) -> dict[str, int]:
    """Static weights (parameters held in the arrays) of each workload of the problem."""
    return {w.name: int(w.total_weights) for w in problem.stack.workloads}


def largest_workload(problem: Any) -> str:
    """Name of the workload with the most static weights (VGG16 in paper-4)."""
    weights = workload_weights(problem)
    return max(weights, key=weights.__getitem__)


def single_workload_problem(problem: Any, workload: str) -> Any:
    """The same space / convention / constraints, one workload, single-objective EDAP."""
    names = list(problem.workload_names)
    if workload not in names:
        raise ImcoptError(f"unknown workload {workload!r}; the problem has {names}")
    w = problem.stack.workloads[names.index(workload)]
    objective = dataclasses.replace(problem.objective, kind="single", aggregate="max",
                                    weights=None)
    return type(problem)(problem.space, [w], objective, convention=problem.convention)


def _search(problem: Any, workload: str, kind: str, algorithm: str, budget: int, seed: int,
            params: Mapping[str, Any] | None) -> BaselineDesign:
    sub = single_workload_problem(problem, workload)
    arch = run_algorithm(algorithm, sub, budget=budget, seed=seed, params=params)
    best = arch.best()
    if not np.isfinite(arch.score[best]):
        raise ImcoptError(f"{kind} baseline for {workload}: no feasible design in {budget} "
                          f"evaluations of {algorithm}")
    return BaselineDesign(kind, workload, arch.X[best].copy(), float(arch.score[best]), arch)


def largest_workload_design(problem: Any, algorithm: str = "paper-ga",
                            budget: int = DEFAULT_BUDGET, seed: int = 0,
                            params: Mapping[str, Any] | None = None) -> BaselineDesign:
    """Design optimised for the largest workload alone."""
    return _search(problem, largest_workload(problem), "largest", algorithm, budget, seed,
                   params)


def specialist_designs(problem: Any, algorithm: str = "paper-ga", budget: int = DEFAULT_BUDGET,
                       seed: int = 0, params: Mapping[str, Any] | None = None
                       ) -> dict[str, BaselineDesign]:
    """One design per workload, each optimised for that workload alone."""
    return {w: _search(problem, w, "specialist", algorithm, budget, seed, params)
            for w in problem.workload_names}


def deploy(problem: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """Evaluate designs ``X`` (n, n_var) on the joint problem (no budget accounting).

    Returns ``score`` (n,), ``edap`` (n, n_w), ``energy_j``, ``latency_s``, ``area_mm2`` and
    ``feasible``.
    """
    X = np.atleast_2d(np.asarray(X))
    out = problem.evaluate(X, return_values_of=["F", "G"], return_as_dictionary=True)
    feasible = out.get("feasible", out.get("is_feasible"))
    res = {k: np.asarray(out[k]) for k in ("score", "edap", "energy_j", "latency_s",
                                           "area_mm2")}
    res["feasible"] = np.asarray(feasible).astype(bool)
    return res


@dataclass
class ProtocolSeed:
    """The paper's baselines of one seed, deployed on the joint problem.

    ``edap[i, w]``: EDAP on workload ``w`` of the specialist found for workload ``i``
    (row ``largest``: the largest-workload design); ``feasible[i]``: it serves every workload."""

    seed: int
    workloads: list[str]
    largest: str
    x: np.ndarray         # (n_w, n_var) specialist designs, one per workload
    edap: np.ndarray      # (n_w, n_w) J*s*mm^2
    feasible: np.ndarray  # (n_w,) bool

    @property
    def largest_edap(self) -> np.ndarray:
        """Per-workload EDAP of the largest-workload design (n_w,)."""
        return self.edap[self.workloads.index(self.largest)]

    @property
    def specialist_edap(self) -> np.ndarray:
        """Each specialist's EDAP on its own workload (n_w,)."""
        return np.diag(self.edap).copy()


def paper_protocol(problem: Any, seeds: Sequence[int], algorithm: str = "paper-ga",
                   budget: int = DEFAULT_BUDGET, params: Mapping[str, Any] | None = None,
                   on_seed: Callable[[ProtocolSeed], None] | None = None
                   ) -> list[ProtocolSeed]:
    """The paper's baselines over ``seeds``: for each seed, every workload's specialist (the
    largest workload's one is the largest-workload baseline) found by ONE run of
    ``algorithm`` with that seed and ``budget``, deployed on the joint problem.

    Each run depends only on its seed (reproducible); ``on_seed`` sees each seed's result as
    soon as it is done (progress, saving)."""
    names = list(problem.workload_names)
    largest = largest_workload(problem)
    out = []
    for seed in seeds:
        spec = specialist_designs(problem, algorithm, budget, int(seed), params)
        X = np.stack([spec[w].x for w in names])
        d = deploy(problem, X)
        res = ProtocolSeed(int(seed), names, largest, X, np.asarray(d["edap"], float),
                           np.asarray(d["feasible"], bool))
        if on_seed is not None:
            on_seed(res)
        out.append(res)
    return out


def protocol_gains(joint_edap: np.ndarray, largest_edap: np.ndarray,
                   specialist_edap: np.ndarray) -> dict[str, np.ndarray]:
    """The paper's figures, element-wise on per-workload EDAP arrays of one shape.

    ``reduction_vs_largest`` = 1 - joint / largest-workload design (> 0: the joint design is
    better); ``loss_vs_specialist`` = 1 - specialist / joint (what the joint design gives up
    on a workload against its own specialist). Non-finite EDAP (an infeasible design) gives
    NaN."""
    j, lg, sp = (np.asarray(a, float) for a in (joint_edap, largest_edap, specialist_edap))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(j) & (j > 0)
        red = np.where(ok & np.isfinite(lg) & (lg > 0), 1.0 - j / lg, np.nan)
        loss = np.where(ok & np.isfinite(sp) & (sp > 0), 1.0 - sp / j, np.nan)
    return {"reduction_vs_largest": red, "loss_vs_specialist": loss}

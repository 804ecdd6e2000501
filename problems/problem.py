"""`JointIMCProblem`: the joint hardware-workload search as a vectorized pymoo Problem.

Decision variables are integer indices into the space's value lists (xl = 0,
xu = cardinality - 1; declared ``vtype=int``). The whole population is decoded and evaluated at
once. Any pymoo algorithm works, also one with continuous operators (plain ``NSGA2()``, ``GA()``):
a non-integer X is rounded to the nearest index (``np.rint``) for evaluation and the rounded X
is returned as output ``X``, which pymoo's Evaluator writes back into the individual, so every
evaluated individual — and ``res.X`` — holds exactly the design evaluated and
``space.decode(res.X)`` works. (Integer X, as imcopt's operators produce, is left untouched.)

Outputs of ``_evaluate`` (n = population size, n_w = number of workloads):

- ``F``: single -> (n, 1) log10 aggregated score; multi -> (n, 3) log10 (aggregated E,
  aggregated L, area term); many -> (n, n_w) log10 per-workload EDAP. Non-finite values (a
  design the model cannot evaluate) are replaced by `F_PENALTY` so that pymoo's sorting and
  crowding stay well defined; such designs are always infeasible through ``G``. With
  ``objective.snr_objective`` (multi / many) one more column: -min_w SNR_w / 10 (SNR in dB,
  capped at `SNR_CAP_DB`; lower is better like the others).
- ``G`` (<= 0 is feasible), (n, 2 + n_w [+ n_w with ``objective.min_snr_db``]):
  ``G[:, 0] = (A - budget) / budget`` (1.0 when the area is not a positive finite number);
  ``G[:, 1]`` = number of decision variables that were out of range or non-finite (they are
  rounded to the nearest integer and clipped for evaluation, but the design is flagged
  infeasible); ``G[:, 2 + w]`` = 0 if workload w is evaluable (model-valid, finite positive E
  and L) and, for RRAM designs, all its weights are resident; 1 otherwise;
  ``G[:, 2 + n_w + w]`` = (min SNR target of workload w - its SNR) / 10 dB (clipped to [-10,
  10]; the reason "SNR below target" is ``snr_ok[:, w]`` False in `evaluate_batch`).
- ``snr_db`` / ``snr_ok`` (n, n_w), in `evaluate_batch` whenever an SNR target or objective is
  set: the output SNR (problems/hardware/snr.py) and whether it meets the workload's target.
- ``score`` (n,): the aggregated EDAP in J*s*mm^2 (dimensionless for ``normalized``), the one
  scalar every algorithm is scored on; inf if infeasible.
- ``log10_score`` (n,), ``energy_j`` / ``latency_s`` / ``edap`` (n, n_w), ``area_mm2`` (n,).
- ``is_feasible`` (n,): all G <= 0. NOTE: pymoo's ``Individual`` has a read-only ``feasible``
  property, so pymoo's Evaluator crashes on an output named ``feasible``; the pymoo output is
  therefore ``is_feasible`` and `evaluate_batch` (the same numbers as a dict of arrays, bool
  kept as bool) also provides ``feasible``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from pymoo.core.problem import Problem

from problems.errors import ImcoptError
from problems.hardware.design import RRAM, DesignBatch
from problems.hardware.model import Screen
from problems.hardware.registry import DEFAULT_CONVENTION, get_cost_model
from problems.hardware.snr import SNRConfig, SNRModel
from problems.objectives import (
    ObjectiveConfig,
    _mask_area,
    safe_log10,
    score_logs,
    snr_targets_db,
)
from problems.spaces import SearchSpace
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

#: F value (log10 units) for individuals whose objective is not finite
F_PENALTY = 1.0e3
#: designs evaluated per cost-model call inside `evaluate_batch`
EVAL_CHUNK = 20_000
#: designs per cost-model call in `screened_scores` (no (n, n_layers) temporaries there)
SCREEN_CHUNK = 50_000
#: SNR above this counts as this in the SNR objective (lossless chains report inf)
SNR_CAP_DB = 100.0


def _with_deployment(model: object, deployment: dict) -> object:
    """The cost model under the scenario's deployment settings (physical convention only)."""
    from problems.hardware.deployment import Deployment

    dep = Deployment.from_dict(deployment)
    if hasattr(model, "with_deployment"):
        return model.with_deployment(dep)
    if not dep.is_default:
        raise ImcoptError(f"deployment settings {dep.to_dict()} need the physical convention "
                          f"(the {getattr(model, 'name', model)!r} convention keeps CiMLoop's "
                          f"mapping)")
    return model


def as_stack(workloads: WorkloadStack | Sequence[Workload] | Workload) -> WorkloadStack:
    """A `WorkloadStack` from a stack, a workload or a sequence of workloads."""
    if isinstance(workloads, WorkloadStack):
        return workloads
    if isinstance(workloads, Workload):
        return WorkloadStack.of([workloads])
    ws = list(workloads)
    if not ws or not all(isinstance(w, Workload) for w in ws):
        raise ImcoptError("workloads must be a WorkloadStack or a non-empty list of Workload")
    return WorkloadStack.of(ws)


class JointIMCProblem(Problem):
    """Choose one design (integer index vector into ``space``) for a set of workloads."""

    #: evaluate through `CostModel.evaluate_factored` (mapping once per structure); False:
    #: the plain `CostModel.evaluate` (the brute-force reference of the exactness tests)
    factored: bool = True

    def __init__(self, space: SearchSpace, workloads: WorkloadStack | Sequence[Workload],
                 objective: ObjectiveConfig | None = None,
                 convention: str = DEFAULT_CONVENTION,
                 specialist_edap: np.ndarray | None = None) -> None:
        if not isinstance(space, SearchSpace):
            raise ImcoptError(f"space must be a SearchSpace, got {type(space).__name__}")
        objective = objective or ObjectiveConfig()
        if not isinstance(objective, ObjectiveConfig):
            raise ImcoptError("objective must be an ObjectiveConfig")
        model = get_cost_model(convention)          # ImcoptError for an unknown name
        if objective.deployment is not None:
            model = _with_deployment(model, objective.deployment)
        self.model = model
        self.space = space
        self.stack = as_stack(workloads)
        model.check_workloads(self.stack)          # once, not per evaluated batch
        self.workload_names: list[str] = list(self.stack.names)
        self.objective = objective
        self.convention = convention
        n_w = self.stack.n_workloads
        objective.check_workloads(n_w)
        if specialist_edap is not None:
            spec = np.asarray(specialist_edap, dtype=float).ravel()
            if spec.size != n_w or not np.all(np.isfinite(spec) & (spec > 0)):
                raise ImcoptError(f"specialist_edap must hold {n_w} positive finite values "
                                  f"(one per workload {self.workload_names}), got "
                                  f"{spec.tolist()}")
            specialist_edap = spec
        elif objective.aggregate == "normalized":
            raise ImcoptError("aggregate 'normalized' needs specialist_edap (one optimum per "
                              "workload; see problems.specialists.specialist_edap)")
        self.specialist_edap = specialist_edap
        self.n_model_errors = 0                     # designs the cost model rejected
        self.last_model_error: str | None = None
        self.snr_targets_db = snr_targets_db(objective, self.workload_names)
        self.snr_model = None
        if self.snr_targets_db is not None or objective.snr_objective:
            self.snr_model = SNRModel(self.stack, SNRConfig(adc_range=objective.snr_adc_range,
                                                            aggregate=objective.snr_aggregate))
        self.snr_objective = objective.snr_objective and objective.kind != "single"
        n_obj = {"single": 1, "multi": 3, "many": n_w}[objective.kind] + self.snr_objective
        n_snr = 0 if self.snr_targets_db is None else n_w
        super().__init__(n_var=space.n_var, n_obj=n_obj, n_ieq_constr=2 + n_w + n_snr, xl=0,
                         xu=space.cardinalities - 1, vtype=int)

    # -- core -------------------------------------------------------------------------------
    def _clean_indices(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Round/clip X to valid indices; also return the count of bad coordinates per row."""
        Xa = np.asarray(X)
        if (Xa.dtype == np.int64 and Xa.ndim == 2 and Xa.shape[1] == self.space.n_var
                and Xa.size and Xa.min() >= 0
                and np.all(Xa.max(axis=0) < self.space.cardinalities)):
            return Xa, np.zeros(Xa.shape[0])           # valid indices (the enumeration's)
        Xf = np.asarray(X, dtype=float)
        if Xf.ndim == 1:
            Xf = Xf[None, :]
        if Xf.ndim != 2 or Xf.shape[1] != self.space.n_var:
            raise ImcoptError(f"design index array has shape {Xf.shape}, expected "
                              f"(n, {self.space.n_var})")
        finite = np.isfinite(Xf)
        Xr = np.rint(np.where(finite, Xf, 0.0))
        hi = self.space.cardinalities[None, :] - 1
        bad = ~finite | (Xr < 0) | (Xr > hi)
        Xi = np.clip(Xr, 0, hi).astype(np.int64)
        return Xi, bad.sum(axis=1).astype(float)

    def evaluate_batch(self, X: np.ndarray, chunk: int = EVAL_CHUNK) -> dict[str, np.ndarray]:
        """Every output of `_evaluate` for index vectors X (n, n_var), in chunks of designs.

        Keys: F, G, score, log10_score, energy_j, latency_s, edap, area_mm2, feasible (bool),
        in_range (bool), parts_log10 (n, 3: aggregated E, aggregated L, area term),
        workload_log10 (n, n_w: per-workload log10 EDAP, +inf where that workload is unusable).
        """
        Xi, n_bad = self._clean_indices(X)
        n = Xi.shape[0]
        if n == 0:
            raise ImcoptError("no designs to evaluate")
        parts = [self._evaluate_clean(Xi[i:i + chunk], n_bad[i:i + chunk])
                 for i in range(0, n, max(1, int(chunk)))]
        if len(parts) == 1:
            return parts[0]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _evaluate_clean(self, Xi: np.ndarray, n_bad: np.ndarray) -> dict[str, np.ndarray]:
        designs = self.space.decode(Xi)
        E, L, A, valid, resident = self._cost(Xi, designs)
        return self._outputs(designs, n_bad, E, L, A, valid, resident)

    def screened_scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """The exhaustive search's view of index vectors X (n, n_var): ``feasible``,
        ``log10_score``, ``parts_log10``, ``workload_log10`` as in `evaluate_batch`, computed
        only for designs that can be feasible for some workload (the cost model skips the
        others, see `problems.hardware.model.Screen`; they are infeasible everywhere:
        ``feasible`` False, inf elsewhere)."""
        Xi, n_bad = self._clean_indices(X)
        n, n_w = Xi.shape[0], self.stack.n_workloads
        out = {"feasible": np.zeros(n, bool), "log10_score": np.full(n, np.inf),
               "parts_log10": np.full((n, 3), np.inf), "workload_log10": np.full((n, n_w),
                                                                                 np.inf)}
        sc = Screen(max_area_mm2=self.objective.area_budget_mm2, rram_resident=True)
        for i in range(0, n, SCREEN_CHUNK):
            sl = slice(i, i + SCREEN_CHUNK)
            designs = self.space.decode(Xi[sl])
            E, L, A, valid, resident = self._cost(Xi[sl], designs, sc)
            keep = np.flatnonzero(valid.any(axis=1) & (n_bad[sl] == 0))
            if keep.size == 0:
                continue
            r = self._outputs(designs.take(keep), n_bad[sl][keep], E[keep], L[keep], A[keep],
                              valid[keep], resident[keep])
            for k, v in out.items():
                v[i + keep] = r[k]
        return out

    def _outputs(self, designs: DesignBatch, n_bad: np.ndarray, E: np.ndarray, L: np.ndarray,
                 A: np.ndarray, valid: np.ndarray,
                 resident: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of `evaluate_batch` from the cost model's figures."""
        cfg = self.objective
        tech = designs.technology_nm
        a_ok = np.isfinite(A) & (A > 0)
        g_area = np.where(a_ok, (np.where(a_ok, A, 0.0) - cfg.area_budget_mm2)
                          / cfg.area_budget_mm2, 1.0)
        lE, lL, lA_raw = safe_log10(E), safe_log10(L), safe_log10(A)
        usable = valid & np.isfinite(lE) & np.isfinite(lL)
        rram = (designs.memory == RRAM)[:, None]
        usable &= ~rram | resident
        G = np.concatenate([g_area[:, None], n_bad[:, None], (~usable).astype(float)], axis=1)
        snr = self.snr_model.evaluate(designs).snr_db if self.snr_model is not None else None
        if snr is not None and self.snr_targets_db is not None:
            G = np.concatenate([G, np.clip((self.snr_targets_db - snr) / 10, -10, 10)], axis=1)
        feasible = np.all(G <= 0, axis=1)
        # invalid entries -> inf in the objectives (the model may report finite junk there)
        Eu = np.where(usable, E, np.inf)
        Lu = np.where(usable, L, np.inf)
        lEu = np.where(usable, lE, np.inf)
        lLu = np.where(usable, lL, np.inf)
        logs = score_logs(lEu, lLu, _mask_area(lEu, lLu, lA_raw), lA_raw, cfg,
                          self.specialist_edap, tech)
        lscore = logs["log10_score"]
        feasible &= np.isfinite(lscore)
        F = logs["F"]
        if snr is not None and self.snr_objective:
            F = np.concatenate([F, -np.minimum(snr.min(axis=1), SNR_CAP_DB)[:, None] / 10], 1)
        F = np.where(np.isfinite(F), F, F_PENALTY)
        with np.errstate(over="ignore"):
            score = np.where(feasible, 10.0 ** lscore, np.inf)
        extra = {} if snr is None else {
            "snr_db": snr, "snr_ok": np.ones(snr.shape, bool) if self.snr_targets_db is None
            else snr >= self.snr_targets_db}
        return extra | {
            "F": F,
            "G": G,
            "score": score,
            "log10_score": np.where(feasible, lscore, np.inf),
            "energy_j": E,
            "latency_s": L,
            "edap": np.where(usable & a_ok[:, None], Eu * Lu * A[:, None], np.inf),
            "area_mm2": A,
            "feasible": feasible,
            "in_range": n_bad == 0,
            "parts_log10": logs["parts"],
            "workload_log10": np.where(usable & (g_area <= 0)[:, None] & (n_bad == 0)[:, None]
                                       & extra.get("snr_ok", True),
                                       logs["workload"], np.inf),
        }

    def _cost(self, Xi: np.ndarray, designs: DesignBatch,
              screen: Screen | None = None) -> tuple[np.ndarray, ...]:
        """(E, L, A, valid, resident) of Xi. If the cost model rejects the batch (ImcoptError),
        the batch is bisected and the designs it rejects alone become invalid (E = L = inf,
        A = nan): infeasible, never optimal. They are counted in ``n_model_errors``."""
        try:
            if not self.factored:
                r = self.model.evaluate(designs, self.stack)
            elif screen is None:
                r = self.model.evaluate_factored(designs, self.stack)
            else:
                r = self.model.evaluate_factored(designs, self.stack, screen)
        except ImcoptError as exc:
            n, n_w = Xi.shape[0], self.stack.n_workloads
            if n == 1:
                self.n_model_errors += 1
                if self.last_model_error is None:
                    warnings.warn(f"cost model rejected design {Xi[0].tolist()} of space "
                                  f"{self.space.name}: {exc} (counted as infeasible)",
                                  stacklevel=3)
                self.last_model_error = str(exc)
                inf = np.full((1, n_w), np.inf)
                return inf, inf.copy(), np.full(1, np.nan), np.zeros((1, n_w), bool), \
                    np.zeros((1, n_w), bool)
            h = n // 2
            a = self._cost(Xi[:h], designs.take(slice(0, h)), screen)
            b = self._cost(Xi[h:], designs.take(slice(h, n)), screen)
            return tuple(np.concatenate([x, y]) for x, y in zip(a, b, strict=True))
        return (np.asarray(r.energy_j, dtype=float), np.asarray(r.latency_s, dtype=float),
                np.asarray(r.area_mm2, dtype=float), np.asarray(r.valid, bool),
                np.asarray(r.weights_resident, bool))

    def _evaluate(self, X: np.ndarray, out: dict, *args: object, **kwargs: object) -> None:
        r = self.evaluate_batch(X)
        Xf = np.asarray(X)
        if not np.issubdtype(Xf.dtype, np.integer):
            Xr = np.rint(Xf.astype(float))
            if not np.array_equal(Xr, Xf, equal_nan=True):
                out["X"] = Xr  # pymoo's Evaluator stores it: X becomes the design evaluated
        out["F"] = r["F"]
        out["G"] = r["G"]
        for k in ("score", "log10_score", "energy_j", "latency_s", "edap", "area_mm2"):
            out[k] = r[k]
        out["is_feasible"] = r["feasible"]

    # -- conveniences -----------------------------------------------------------------------
    def fits(self, X: np.ndarray) -> np.ndarray:
        """Capacity check (n,) bool: the model can map every workload and, for RRAM, every
        workload's weights are resident. Like the paper's pre-filter of its initial sample it
        is not an objective evaluation (E, L, A are not used) and is not counted in budgets."""
        Xi, n_bad = self._clean_indices(X)
        out = np.zeros(Xi.shape[0], bool)
        for i in range(0, Xi.shape[0], EVAL_CHUNK):
            sl = slice(i, i + EVAL_CHUNK)
            designs = self.space.decode(Xi[sl])
            _, _, _, valid, resident = self._cost(Xi[sl], designs)
            rram = (designs.memory == RRAM)[:, None]
            out[sl] = np.all(valid & (~rram | resident), axis=1) & (n_bad[sl] == 0)
        return out

    def score(self, X: np.ndarray) -> np.ndarray:
        """Aggregated score (J*s*mm^2; inf if infeasible) of index vectors X (n, n_var)."""
        return self.evaluate_batch(X)["score"]

    def __repr__(self) -> str:
        return (f"JointIMCProblem(space={self.space.name!r}, workloads={self.workload_names}, "
                f"kind={self.objective.kind!r}, aggregate={self.objective.aggregate!r}, "
                f"convention={self.convention!r})")


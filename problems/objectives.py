"""Objective settings and the aggregation of per-workload costs into one score (pure numpy).

Everything is computed in log10 space so that products over many workloads (9 workloads,
tiny or huge values) stay finite; the optimizer only needs the ordering (``log10_score``),
reports want EDAP numbers (``score = 10 ** log10_score``, J*s*mm^2, or dimensionless for
``aggregate="normalized"``). A non-positive or non-finite E, L or A (invalid design) gives
``log10_score = +inf`` and ``score = inf``: never optimal.

Aggregations of per-workload energy E_w, latency L_w and chip area A (PAPER.md):

- ``max``:       max_w E_w * max_w L_w * A                (ISCAS paper)
- ``mean``:      mean_w E_w * mean_w L_w * A              (9-workload study)
- ``product``:   A * prod_w E_w * prod_w L_w
- ``geomean``:   A * geomean_w E_w * geomean_w L_w        (= product ** (1/n_w) up to A)
- ``weighted``:  wmean_w E_w * wmean_w L_w * A, weights normalised to sum 1
- ``normalized``: r_w = E_w L_w A / specialist_w (each workload's EDAP over its own optimum),
  then max_w r_w or mean_w r_w (``normalized_by``); dimensionless.

Fabrication cost (technology study): cost = A * k(node), k from `NODE_COST_FACTOR`.
``fabrication_cost=False``: area term is A; ``"product"``: area term is A * k(node) (the paper's
``max E * max L * cost``); ``"alone"``: the score is the fabrication cost A * k(node) only
(E and L still decide validity; for ``kind="multi"`` the third objective becomes the cost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from problems.errors import ImcoptError

KINDS = ("single", "multi", "many")
AGGREGATES = ("max", "mean", "product", "geomean", "weighted", "normalized")
NORMALIZED_BY = ("max", "mean")
FABRICATION = (False, "alone", "product")
#: the paper's chip-area constraint (PAPER.md: area <= 800 mm^2 in every experiment)
DEFAULT_AREA_BUDGET_MM2 = 800.0

#: relative fabrication cost per mm^2 by node (PAPER.md technology study; 32 nm = 100)
NODE_COST_FACTOR: dict[int, float] = {7: 387.09, 10: 224.31, 14: 149.76, 22: 128.28, 32: 100.0,
                                      45: 60.61}


@dataclass(frozen=True)
class ObjectiveConfig:
    """How per-workload (E, L) and A become the objective(s) of the search.

    ``kind``: "single" (one log10 score), "multi" (aggregated E, aggregated L, A), "many"
    (one log10 EDAP per workload). ``weights``: per-workload, for ``aggregate="weighted"``.
    ``node_cost_factor``: k(node); other nodes are interpolated linearly in log k vs log node
    (power law between neighbours), beyond the table the nearest segment is extended
    (65 nm -> ~35.3, an extrapolation of the 32-45 nm trend).
    """

    kind: str = "single"
    aggregate: str = "max"
    weights: tuple[float, ...] | None = None
    normalized_by: str = "max"
    fabrication_cost: bool | str = False
    node_cost_factor: Mapping[int, float] = field(
        default_factory=lambda: dict(NODE_COST_FACTOR))
    area_budget_mm2: float = DEFAULT_AREA_BUDGET_MM2
    #: accuracy (problems/hardware/snr.py): minimum output SNR in dB, one number or
    #: {workload: dB} (workloads not named are unconstrained; key "default" for the rest);
    #: ``snr_objective`` adds -min_w SNR_w / 10 as an objective to the multi / many forms (the
    #: single score ignores it and takes SNR through the constraint only)
    min_snr_db: float | Mapping[str, float] | None = None
    snr_objective: bool = False
    snr_adc_range: str = "full-range"
    snr_aggregate: str = "worst-layer"
    #: deployment settings of the physical convention (problems/hardware/deployment.py:
    #: residency, requests_between_switches, execution, batch, packing); None = the defaults
    deployment: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        _check_snr_fields(self)
        if self.deployment is not None:
            from problems.hardware.deployment import Deployment

            object.__setattr__(self, "deployment",
                               Deployment.from_dict(self.deployment).to_dict())
        if self.kind not in KINDS:
            raise ImcoptError(f"objective kind {self.kind!r}; allowed: {list(KINDS)}")
        if self.aggregate not in AGGREGATES:
            raise ImcoptError(f"objective aggregate {self.aggregate!r}; allowed: "
                              f"{list(AGGREGATES)}")
        if self.normalized_by not in NORMALIZED_BY:
            raise ImcoptError(f"objective normalized_by {self.normalized_by!r}; allowed: "
                              f"{list(NORMALIZED_BY)}")
        if self.fabrication_cost not in FABRICATION or self.fabrication_cost is True:
            raise ImcoptError(f"objective fabrication_cost {self.fabrication_cost!r}; allowed: "
                              f"False, 'alone', 'product'")
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float)
            if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) \
                    or w.sum() <= 0:
                raise ImcoptError(f"objective weights {self.weights!r} must be a non-empty list "
                                  f"of finite non-negative numbers, not all zero")
            object.__setattr__(self, "weights", tuple(float(x) for x in w))
        elif self.aggregate == "weighted":
            raise ImcoptError("objective aggregate 'weighted' needs weights (one per workload)")
        ncf = {}
        for k, v in dict(self.node_cost_factor).items():
            try:
                kk, vv = int(k), float(v)
            except (TypeError, ValueError) as exc:
                raise ImcoptError(f"objective node_cost_factor entry {k!r}: {v!r} is not "
                                  f"node_nm: factor") from exc
            if kk <= 0 or not np.isfinite(vv) or vv <= 0:
                raise ImcoptError(f"objective node_cost_factor {k!r}: {v!r} must be a "
                                  f"positive node and a positive finite factor")
            ncf[kk] = vv
        if len(ncf) < 2:
            raise ImcoptError("objective node_cost_factor needs at least two nodes")
        object.__setattr__(self, "node_cost_factor", dict(sorted(ncf.items())))
        b = self.area_budget_mm2
        if isinstance(b, bool) or not isinstance(b, int | float) or not np.isfinite(b) or b <= 0:
            raise ImcoptError(f"objective area_budget_mm2 = {b!r} must be a positive number")
        object.__setattr__(self, "area_budget_mm2", float(b))

    @property
    def n_obj_multi(self) -> int:
        return 3

    def check_workloads(self, n_workloads: int) -> None:
        """ImcoptError if the weights do not match the number of workloads."""
        if self.weights is not None and len(self.weights) != n_workloads:
            raise ImcoptError(f"objective weights has {len(self.weights)} entries but there are "
                              f"{n_workloads} workloads")

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["weights"] = list(self.weights) if self.weights is not None else None
        d["node_cost_factor"] = {str(k): v for k, v in self.node_cost_factor.items()}
        if isinstance(self.min_snr_db, Mapping):
            d["min_snr_db"] = dict(self.min_snr_db)
        if self.deployment is None:
            del d["deployment"]                # keeps earlier cache keys valid
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> ObjectiveConfig:
        """Inverse of `to_dict`; unknown keys are an error."""
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise ImcoptError(f"objective: unknown field(s) {unknown}; allowed: {sorted(allowed)}")
        kw = dict(d)
        if kw.get("weights") is not None:
            kw["weights"] = tuple(kw["weights"])  # type: ignore[arg-type]
        if "node_cost_factor" in kw:
            kw["node_cost_factor"] = {int(k): float(v)  # type: ignore[union-attr]
                                      for k, v in kw["node_cost_factor"].items()}
        return cls(**kw)  # type: ignore[arg-type]


def _check_snr_fields(cfg: ObjectiveConfig) -> None:
    """Validate the accuracy fields (ImcoptError naming the bad one)."""
    from problems.hardware.snr import SNRConfig

    SNRConfig(adc_range=cfg.snr_adc_range, aggregate=cfg.snr_aggregate)
    if not isinstance(cfg.snr_objective, bool):
        raise ImcoptError(f"objective snr_objective = {cfg.snr_objective!r} must be true/false")
    t = cfg.min_snr_db
    items = t.items() if isinstance(t, Mapping) else ([] if t is None else [(None, t)])
    for name, v in items:
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            where = "" if name is None else f"[{name!r}]"
            raise ImcoptError(f"objective min_snr_db{where} = {v!r} must be a finite number "
                              f"of dB (or a mapping workload: dB)")
    if isinstance(t, Mapping):
        object.__setattr__(cfg, "min_snr_db", {str(k): float(v) for k, v in t.items()})
    elif t is not None:
        object.__setattr__(cfg, "min_snr_db", float(t))


def snr_targets_db(cfg: ObjectiveConfig, workloads: list[str]) -> np.ndarray | None:
    """Minimum SNR (dB) per workload, (n_w,) (-inf = unconstrained), or None if no target.
    Names of other workloads are ignored (sub-problems of one workload keep the mapping; the
    study config checks the names against the scenario's workloads)."""
    t = cfg.min_snr_db
    if t is None:
        return None
    if not isinstance(t, Mapping):
        return np.full(len(workloads), float(t))
    return np.array([float(t.get(w, t.get("default", -np.inf))) for w in workloads])


# -- building blocks --------------------------------------------------------------------------
def node_cost_factor(technology_nm: np.ndarray | float,
                     table: Mapping[int, float] | None = None) -> np.ndarray:
    """k(node): fabrication cost per mm^2 relative to 32 nm = 100 (log-log interpolation)."""
    table = dict(sorted((table or NODE_COST_FACTOR).items()))
    nodes = np.log(np.array(list(table), dtype=float))
    ks = np.log(np.array(list(table.values()), dtype=float))
    x = np.log(np.asarray(technology_nm, dtype=float))
    y = np.interp(x, nodes, ks)
    lo = x < nodes[0]
    hi = x > nodes[-1]
    y = np.where(lo, ks[0] + (x - nodes[0]) * (ks[1] - ks[0]) / (nodes[1] - nodes[0]), y)
    y = np.where(hi, ks[-1] + (x - nodes[-1]) * (ks[-1] - ks[-2]) / (nodes[-1] - nodes[-2]), y)
    return np.exp(y)


def safe_log10(a: np.ndarray) -> np.ndarray:
    """log10 with non-positive / non-finite / NaN entries mapped to +inf (invalid)."""
    a = np.asarray(a, dtype=float)
    ok = np.isfinite(a) & (a > 0)
    out = np.full(a.shape, np.inf)
    np.log10(a, out=out, where=ok)
    return out


def _log10_mean(lx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """log10 of sum_w w_j 10**lx_j (weights sum to 1), overflow-free; inf if any entry inf."""
    m = np.max(lx, axis=1, keepdims=True)
    finite = np.isfinite(m[:, 0])
    mm = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.sum(w[None, :] * 10.0 ** (lx - mm), axis=1)
        out = mm[:, 0] + np.log10(s)
    return np.where(finite, out, np.inf)


def _weights(cfg: ObjectiveConfig, n_w: int) -> np.ndarray:
    if cfg.aggregate == "weighted":
        cfg.check_workloads(n_w)
        w = np.asarray(cfg.weights, dtype=float)
        return w / w.sum()
    return np.full(n_w, 1.0 / n_w)


def _reduce(lx: np.ndarray, how: str, w: np.ndarray) -> np.ndarray:
    if how == "max":
        return np.max(lx, axis=1)
    if how in ("mean", "weighted"):
        return _log10_mean(lx, w)
    if how == "product":
        return np.sum(lx, axis=1)
    if how == "geomean":
        return np.sum(lx * w[None, :], axis=1)
    raise ImcoptError(f"unknown reduction {how!r}")


def _inputs(E: np.ndarray, L: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, ...]:
    """log10 E, L (n, n_w) and A (n,), the area +inf where any workload is invalid."""
    E = np.atleast_2d(np.asarray(E, dtype=float))
    L = np.atleast_2d(np.asarray(L, dtype=float))
    A = np.atleast_1d(np.asarray(A, dtype=float))
    if E.shape != L.shape or E.shape[0] != A.shape[0] or A.ndim != 1:
        raise ImcoptError(f"aggregation: E {E.shape}, L {L.shape} must be (n, n_workloads) and "
                          f"A {A.shape} must be (n,)")
    lE, lL = safe_log10(E), safe_log10(L)
    return lE, lL, _mask_area(lE, lL, safe_log10(A))


def _mask_area(lE: np.ndarray, lL: np.ndarray, lA: np.ndarray) -> np.ndarray:
    bad = ~(np.all(np.isfinite(lE), axis=1) & np.all(np.isfinite(lL), axis=1))
    return np.where(bad, np.inf, lA)


def log10_area_term(A: np.ndarray, cfg: ObjectiveConfig,
                    technology_nm: np.ndarray | float | None = None) -> np.ndarray:
    """log10 of the area term: A, or the fabrication cost A * k(node) (+inf if A invalid)."""
    return _log10_area_term(safe_log10(np.atleast_1d(A)), cfg, technology_nm)


def _log10_area_term(lA: np.ndarray, cfg: ObjectiveConfig,
                     technology_nm: np.ndarray | float | None) -> np.ndarray:
    if cfg.fabrication_cost is False:
        return lA
    if technology_nm is None:
        raise ImcoptError("fabrication_cost needs each design's technology_nm")
    k = node_cost_factor(np.broadcast_to(np.asarray(technology_nm, float), lA.shape),
                         cfg.node_cost_factor)
    return lA + np.log10(k)


def aggregate_parts_log10(E: np.ndarray, L: np.ndarray, cfg: ObjectiveConfig
                          ) -> tuple[np.ndarray, np.ndarray]:
    """log10 of the aggregated energy and latency, each (n,). For ``normalized`` the
    ``normalized_by`` reduction (max or mean) of E and L is used."""
    lE, lL, _ = _inputs(E, L, np.ones(np.atleast_2d(E).shape[0]))
    return _parts_from_logs(lE, lL, cfg)


def _parts_from_logs(lE: np.ndarray, lL: np.ndarray, cfg: ObjectiveConfig
                     ) -> tuple[np.ndarray, np.ndarray]:
    how = cfg.normalized_by if cfg.aggregate == "normalized" else cfg.aggregate
    w = _weights(cfg, lE.shape[1])
    return _reduce(lE, how, w), _reduce(lL, how, w)


def per_workload_log10(E: np.ndarray, L: np.ndarray, A: np.ndarray, cfg: ObjectiveConfig,
                       technology_nm: np.ndarray | float | None = None) -> np.ndarray:
    """log10 EDAP of every design on every workload, (n, n_w) (area term per cfg; +inf where
    that workload is invalid). This is what a workload's specialist minimises."""
    E = np.atleast_2d(np.asarray(E, dtype=float))
    L = np.atleast_2d(np.asarray(L, dtype=float))
    return _per_workload_from_logs(safe_log10(E), safe_log10(L),
                                   _log10_area_term(safe_log10(A), cfg, technology_nm), cfg)


def _per_workload_from_logs(lE: np.ndarray, lL: np.ndarray, la: np.ndarray,
                            cfg: ObjectiveConfig) -> np.ndarray:
    if cfg.fabrication_cost == "alone":
        out = np.broadcast_to(la[:, None], lE.shape).copy()
        out[~(np.isfinite(lE) & np.isfinite(lL))] = np.inf
        return out
    return lE + lL + la[:, None]


def aggregate_log10(E: np.ndarray, L: np.ndarray, A: np.ndarray, cfg: ObjectiveConfig,
                    specialist_edap: np.ndarray | None = None,
                    technology_nm: np.ndarray | float | None = None) -> np.ndarray:
    """log10 of the aggregated score of each design, (n,); +inf where any workload is invalid.

    E, L: (n, n_w) J and s; A: (n,) mm^2; specialist_edap: (n_w,) each workload's own optimum
    (same units as the per-workload EDAP), required for ``normalized``."""
    lE, lL, lA = _inputs(E, L, A)
    return _aggregate_from_logs(lE, lL, _log10_area_term(lA, cfg, technology_nm), cfg,
                                specialist_edap)


def _aggregate_from_logs(lE: np.ndarray, lL: np.ndarray, la: np.ndarray, cfg: ObjectiveConfig,
                         specialist_edap: np.ndarray | None,
                         parts: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """`aggregate_log10` from log10 E, L and the (masked, `_inputs`) log10 area term;
    ``parts``: the aggregated log10 E and L (`_parts_from_logs`) when already computed."""
    n_w = lE.shape[1]
    if cfg.fabrication_cost == "alone":
        return la
    if cfg.aggregate == "normalized":
        if specialist_edap is None:
            raise ImcoptError("aggregate 'normalized' needs specialist_edap (each workload's "
                              "optimum EDAP alone; see problems.specialists)")
        spec = np.asarray(specialist_edap, dtype=float).ravel()
        if spec.size != n_w:
            raise ImcoptError(f"specialist_edap has {spec.size} entries, expected {n_w}")
        ls = safe_log10(spec)
        if not np.all(np.isfinite(ls)):
            raise ImcoptError(f"specialist_edap must be positive and finite, got {spec.tolist()}")
        lr = lE + lL + la[:, None] - ls[None, :]
        lr[~np.isfinite(la)] = np.inf
        return _reduce(lr, cfg.normalized_by, np.full(n_w, 1.0 / n_w))
    aE, aL = _parts_from_logs(lE, lL, cfg) if parts is None else parts
    return np.where(np.isfinite(la), aE + aL + la, np.inf)


def aggregate_edap(E: np.ndarray, L: np.ndarray, A: np.ndarray, cfg: ObjectiveConfig,
                   specialist_edap: np.ndarray | None = None,
                   technology_nm: np.ndarray | float | None = None) -> np.ndarray:
    """The aggregated score in linear units, ``10 ** aggregate_log10(...)`` (n,).

    J*s*mm^2 for max/mean/weighted; J^n*s^n*mm^2 for product; dimensionless for normalized;
    inf where invalid (and for a product beyond the float range, ~1e308)."""
    with np.errstate(over="ignore"):
        return 10.0 ** aggregate_log10(E, L, A, cfg, specialist_edap, technology_nm)


def objectives_log10(E: np.ndarray, L: np.ndarray, A: np.ndarray, cfg: ObjectiveConfig,
                     specialist_edap: np.ndarray | None = None,
                     technology_nm: np.ndarray | float | None = None) -> np.ndarray:
    """The objective matrix (n, n_obj) for ``cfg.kind`` in log10 units:
    single -> aggregated score; multi -> (agg E, agg L, area term); many -> per-workload EDAP."""
    return score_logs(*_inputs(E, L, A), safe_log10(np.atleast_1d(A)), cfg, specialist_edap,
                      technology_nm)["F"]


def score_logs(lE: np.ndarray, lL: np.ndarray, lA: np.ndarray, lA_raw: np.ndarray,
               cfg: ObjectiveConfig, specialist_edap: np.ndarray | None = None,
               technology_nm: np.ndarray | float | None = None) -> dict[str, np.ndarray]:
    """Every objective quantity from log10 E, L (n, n_w), log10 A masked as `_inputs` does
    (``lA``) and unmasked (``lA_raw``), each logarithm taken once: ``log10_score``
    (`aggregate_log10`), ``F`` (`objectives_log10`), ``parts`` (n, 3: aggregated E, L and
    the unmasked area term, as `aggregate_parts_log10` / `log10_area_term`) and
    ``workload`` (`per_workload_log10` of these E, L)."""
    la = _log10_area_term(lA, cfg, technology_nm)
    la_raw = la if lA_raw is lA else _log10_area_term(lA_raw, cfg, technology_nm)
    aE, aL = _parts_from_logs(lE, lL, cfg)
    lscore = _aggregate_from_logs(lE, lL, la, cfg, specialist_edap, (aE, aL))
    workload = _per_workload_from_logs(lE, lL, la_raw, cfg)
    if cfg.kind == "single":
        F = lscore[:, None]
    elif cfg.kind == "many":
        F = workload
    else:
        F = np.stack([aE, aL, la], axis=1)
        F[~np.isfinite(la)] = np.inf
    return {"log10_score": lscore, "F": F, "parts": np.stack([aE, aL, la_raw], axis=1),
            "workload": workload}


def describe(cfg: ObjectiveConfig) -> str:
    """One-line human description, e.g. 'max E * max L * A'."""
    if cfg.fabrication_cost == "alone":
        return "fabrication cost A * k(node)"
    area = "A * k(node)" if cfg.fabrication_cost == "product" else "A"
    if cfg.aggregate == "normalized":
        return f"{cfg.normalized_by}_w (E_w * L_w * {area} / specialist_w)"
    return f"{cfg.aggregate} E * {cfg.aggregate} L * {area}"

"""Scenario configuration: one optimisation problem of a study (space x workloads x objective),
parsed from a study YAML's ``scenarios:`` list and validated (problems collected, not raised one
by one; `study.config` formats them). Split from `study.config` so each file has one job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from problems.errors import ImcoptError, short
from problems.hardware.design import PARAMETERS, DesignBatch
from problems.objectives import AGGREGATES as OBJ_AGGREGATES
from problems.objectives import DEFAULT_AREA_BUDGET_MM2, FABRICATION, KINDS

AGGREGATES: tuple[str, ...] = OBJ_AGGREGATES
OBJECTIVE_KINDS: tuple[str, ...] = KINDS
FABRICATION_COST: tuple[object, ...] = FABRICATION

SCENARIO_KEYS = {"name", "space", "workloads", "aggregate", "weights", "objective",
                 "fabrication_cost", "constraints", "fixed", "exact_optimum", "memory",
                 "technology_nm", "snr", "deployment"}
#: scenario-level shorthands for ``fixed: {memory: ..., technology_nm: ...}``
SHORTHAND_FIXED = ("memory", "technology_nm")
CONSTRAINT_KEYS = {"area_budget_mm2", "min_snr_db"}
#: scenario ``snr:`` options -> ObjectiveConfig fields (problems/hardware/snr.py)
SNR_KEYS = {"adc_range": "snr_adc_range", "aggregate": "snr_aggregate",
            "objective": "snr_objective"}

@dataclass(frozen=True)
class ScenarioConfig:
    """One optimisation problem: a search space x a workload set x an objective."""

    name: str
    space: str
    workloads: str | list[str]
    aggregate: str = "max"
    weights: list[float] | None = None
    objective: str = "single"
    fabrication_cost: bool | str = False
    area_budget_mm2: float = DEFAULT_AREA_BUDGET_MM2
    fixed: dict[str, Any] = field(default_factory=dict)
    exact_optimum: bool = False
    min_snr_db: float | dict[str, float] | None = None
    snr: dict[str, Any] = field(default_factory=dict)
    deployment: dict[str, Any] | None = None

    def snr_objective_fields(self) -> dict[str, Any]:
        """The ObjectiveConfig keyword arguments of the accuracy settings and, when set, of
        the deployment settings (so every caller building the problem passes them on)."""
        dep = {} if self.deployment is None else {"deployment": self.deployment}
        return {"min_snr_db": self.min_snr_db} | {SNR_KEYS[k]: v for k, v in self.snr.items()} \
            | dep


def scenario_dict(s: ScenarioConfig) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": s.name, "space": s.space, "workloads": s.workloads, "aggregate": s.aggregate,
        "objective": s.objective, "fabrication_cost": s.fabrication_cost,
        "constraints": {"area_budget_mm2": s.area_budget_mm2},
        "exact_optimum": s.exact_optimum,
    }
    if s.weights is not None:
        d["weights"] = list(s.weights)
    if s.fixed:
        d["fixed"] = dict(s.fixed)
    if s.min_snr_db is not None:
        d["constraints"]["min_snr_db"] = s.min_snr_db
    if s.snr:
        d["snr"] = dict(s.snr)
    if s.deployment is not None:
        d["deployment"] = dict(s.deployment)
    return d


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _unknown(d: Mapping, allowed: set[str], where: str, problems: list[str]) -> None:
    extra = sorted(str(k) for k in d if k not in allowed)
    if extra:
        problems.append(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def parse_scenarios(value: Any, problems: list[str], check: bool) -> list[ScenarioConfig]:
    if not isinstance(value, list) or not value:
        problems.append("scenarios: must be a non-empty list of scenarios")
        return []
    out: list[ScenarioConfig] = []
    names: list[str] = []
    for i, raw in enumerate(value):
        where = f"scenarios[{i}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be a mapping, got {short(raw)}")
            continue
        sc = _parse_scenario(raw, where, problems, check)
        if sc is not None:
            out.append(sc)
        if isinstance(raw.get("name"), str):
            names.append(raw["name"])
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(f"scenarios: duplicate scenario names {dup}")
    return out


def _parse_scenario(raw: Mapping, where: str, problems: list[str],
                    check: bool) -> ScenarioConfig | None:
    n0 = len(problems)
    _unknown(raw, SCENARIO_KEYS, where, problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name or name.startswith("."):
        problems.append(f"{where}.name: required, a non-empty string without '/', "
                        f"got {short(name)}")
        name = f"scenario-{where}"
    else:
        where = f"scenario {short(name)}"
    space = raw.get("space")
    if not isinstance(space, str) or not space:
        problems.append(f"{where}.space: required, a space name or YAML path, got {short(space)}")
    elif check:
        merged = dict(raw.get("fixed") or {}) if isinstance(raw.get("fixed") or {}, Mapping) \
            else {}
        merged.update({k: raw[k] for k in SHORTHAND_FIXED if k in raw})
        _check_space(space, merged, where, problems)
    workloads = raw.get("workloads")
    if isinstance(workloads, str) and workloads:
        pass
    elif isinstance(workloads, list) and workloads and all(isinstance(w, str) for w in workloads):
        workloads = list(workloads)
    else:
        problems.append(f"{where}.workloads: required, a set / zoo name, path, or list of them, "
                        f"got {short(workloads)}")
        workloads = None
    n_workloads = None
    if check and workloads is not None:
        n_workloads = _check_workloads(workloads, where, problems)
    aggregate = raw.get("aggregate", "max")
    if aggregate not in AGGREGATES:
        problems.append(f"{where}.aggregate: unknown aggregation {short(aggregate)}; allowed: "
                        f"{list(AGGREGATES)}")
    weights = raw.get("weights")
    if weights is not None and (
        not isinstance(weights, list) or not weights
        or not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0
                   for w in weights)):
        problems.append(f"{where}.weights: must be a list of non-negative numbers, "
                        f"got {short(weights)}")
        weights = None
    if weights is not None and n_workloads is not None and len(weights) != n_workloads:
        problems.append(f"{where}.weights: {len(weights)} weights for {n_workloads} workloads")
    if aggregate == "weighted" and weights is None:
        problems.append(f"{where}: aggregate 'weighted' needs 'weights' (one per workload)")
    objective = raw.get("objective", "single")
    if objective not in OBJECTIVE_KINDS:
        problems.append(f"{where}.objective: unknown kind {short(objective)}; allowed: "
                        f"{list(OBJECTIVE_KINDS)}")
    fab = raw.get("fabrication_cost", False)
    if fab not in FABRICATION_COST or fab is True:
        problems.append(f"{where}.fabrication_cost: must be false, 'alone' or 'product', "
                        f"got {short(fab)}")
    constraints = raw.get("constraints", {}) or {}
    area = DEFAULT_AREA_BUDGET_MM2
    if not isinstance(constraints, Mapping):
        problems.append(f"{where}.constraints: must be a mapping, got {short(constraints)}")
    else:
        _unknown(constraints, CONSTRAINT_KEYS, f"{where}.constraints", problems)
        area = constraints.get("area_budget_mm2", DEFAULT_AREA_BUDGET_MM2)
        if isinstance(area, bool) or not isinstance(area, int | float) or not area > 0:
            problems.append(f"{where}.constraints.area_budget_mm2: must be a positive number "
                            f"of mm^2, got {short(area)}")
            area = DEFAULT_AREA_BUDGET_MM2
    min_snr, snr = _parse_snr(raw, constraints, objective, where, problems)
    if check and isinstance(min_snr, Mapping) and workloads is not None and n_workloads:
        _check_snr_names(min_snr, workloads, where, problems)
    fixed = raw.get("fixed", {}) or {}
    if not isinstance(fixed, Mapping):
        problems.append(f"{where}.fixed: must be a mapping parameter -> value, got {short(fixed)}")
        fixed = {}
    else:
        fixed = dict(fixed)
        for key in SHORTHAND_FIXED:
            if key in raw:
                if key in fixed and fixed[key] != raw[key]:
                    problems.append(f"{where}: {key} = {short(raw[key])} contradicts fixed.{key} = "
                                    f"{short(fixed[key])}")
                fixed[key] = raw[key]
        _check_fixed(fixed, where, problems)
    deployment = _parse_deployment(raw, where, problems)
    exact = raw.get("exact_optimum", False)
    if not isinstance(exact, bool):
        problems.append(f"{where}.exact_optimum: must be true or false, got {short(exact)}")
        exact = False
    if len(problems) > n0:
        return None
    return ScenarioConfig(
        name=name, space=space, workloads=workloads, aggregate=aggregate,
        weights=[float(w) for w in weights] if weights is not None else None,
        objective=objective, fabrication_cost=fab, area_budget_mm2=float(area),
        fixed=dict(fixed), exact_optimum=exact, min_snr_db=min_snr, snr=snr,
        deployment=deployment)


def _default_deployment() -> dict[str, Any]:
    from problems.hardware.deployment import Deployment

    return Deployment().to_dict()


def _parse_deployment(raw: Mapping, where: str, problems: list[str]) -> dict[str, Any] | None:
    """The scenario's ``deployment:`` settings, checked (problems/hardware/deployment.py)."""
    from problems.hardware.deployment import Deployment

    if raw.get("deployment") is None:
        return None
    try:
        return Deployment.from_dict(raw["deployment"]).to_dict()
    except ImcoptError as exc:
        problems.append(f"{where}.{exc}")
        return None


def _check_snr_names(min_snr: Mapping, workloads: Any, where: str, problems: list[str]) -> None:
    from problems.workloads import load_workloads

    names = {w.name for w in load_workloads(workloads)}
    unknown = sorted(set(min_snr) - names - {"default"})
    if unknown:
        problems.append(f"{where}.constraints.min_snr_db: unknown workload(s) {unknown}; "
                        f"the scenario's workloads: {sorted(names)} (or 'default')")


def _parse_snr(raw: Mapping, constraints: Any, objective: Any, where: str,
               problems: list[str]) -> tuple[Any, dict[str, Any]]:
    """``constraints.min_snr_db`` and the ``snr:`` options, checked through ObjectiveConfig."""
    from problems.objectives import ObjectiveConfig

    min_snr = constraints.get("min_snr_db") if isinstance(constraints, Mapping) else None
    snr = raw.get("snr", {}) or {}
    if not isinstance(snr, Mapping):
        problems.append(f"{where}.snr: must be a mapping, got {snr!r}")
        return None, {}
    _unknown(snr, set(SNR_KEYS), f"{where}.snr", problems)
    snr = {k: v for k, v in snr.items() if k in SNR_KEYS}
    kind = objective if objective in OBJECTIVE_KINDS else "multi"
    try:
        cfg = ObjectiveConfig(kind=kind, min_snr_db=min_snr,
                              **{SNR_KEYS[k]: v for k, v in snr.items()})
    except ImcoptError as exc:
        problems.append(f"{where}: {exc}")
        return None, {}
    return cfg.min_snr_db, dict(snr)


def _check_fixed(fixed: Mapping, where: str, problems: list[str]) -> None:
    unknown = sorted(str(k) for k in fixed if k not in PARAMETERS)
    if unknown:
        problems.append(f"{where}.fixed: unknown design parameter(s) {unknown}; allowed: "
                        f"{sorted(PARAMETERS)}")
        return
    try:
        DesignBatch.from_dict(dict(fixed))
    except ImcoptError as exc:
        problems.append(f"{where}.fixed: {exc}")


def _check_space(space: str, fixed: Any, where: str, problems: list[str]) -> None:
    from problems.spaces import SearchSpace

    try:
        loaded = SearchSpace.load(space)
    except ImcoptError as exc:
        problems.append(f"{where}.space: {exc}")
        return
    if isinstance(fixed, Mapping) and fixed and all(k in PARAMETERS for k in fixed) \
            and set(loaded.names) <= set(fixed):
        problems.append(f"{where}.fixed: fixes every variable of space {short(space)}; nothing "
                        f"left to search")


def _check_workloads(spec: str | list[str], where: str, problems: list[str]) -> int | None:
    from problems.workloads import load_workloads

    try:
        return len(load_workloads(spec))
    except ImcoptError as exc:
        problems.append(f"{where}.workloads: {exc}")
        return None

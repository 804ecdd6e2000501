"""Study configuration (YAML): parsed into dataclasses and validated before anything runs.

Every problem found (unknown keys at any level, unknown algorithm / space / workload /
aggregation, bad budget or seeds, unwritable output directory, ...) is collected and raised
together as ONE `ImcoptError` listing them all.

Example::

    name: quickstart
    output: results/quickstart          # relative paths are relative to the working directory
    budget: 2800                        # evaluations per run
    seeds: 5                            # a count (0..4) or a list of ints
    convention: physical                # or "cimloop"
    scenarios:
      - name: rram-4-max
        space: rram-paper               # built-in name or a YAML path
        workloads: paper-4              # set name, zoo name(s) or path(s)
        aggregate: max                  # max|mean|product|geomean|weighted|normalized
        weights: null                   # one per workload, for aggregate: weighted
        objective: single               # single|multi|many: the problem's default form
        fabrication_cost: false         # false|alone|product (technology study)
        constraints: {area_budget_mm2: 800, min_snr_db: 20}   # min_snr_db: or {workload: dB}
        snr: {adc_range: full-range, aggregate: worst-layer, objective: false}  # SNR model
        deployment: {residency: per-workload, requests_between_switches: 1000,
                     execution: pipelined, batch: 8}   # physical convention; defaults:
                     # all-resident, 1000, sequential, 1 (problems/hardware/deployment.py)
        technology_nm: 32               # shorthands for fixed: {technology_nm, memory}
        fixed: {voltage_v: 0.7}         # design parameters held constant (canonical units)
        exact_optimum: true             # enumerate the space once for the exact optimum
    algorithms: [paper-ga, nsga2, {name: ga, label: ga-50, params: {pop_size: 50}}]

Every run is scored on the aggregated EDAP. Each algorithm searches the form it is built for
(GAs / DE / random search the single score, NSGA-II & co. the (E, L, A) form), so
``objective`` is only the problem's default form and rarely matters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError, short
from problems.hardware.design import PARAMETERS, DesignBatch
from problems.hardware.registry import CONVENTIONS, DEFAULT_CONVENTION
from problems.io import read_yaml
from problems.objectives import AGGREGATES as OBJ_AGGREGATES
from problems.objectives import FABRICATION, KINDS
from study.recorder import DEFAULT_BUDGET

AGGREGATES: tuple[str, ...] = OBJ_AGGREGATES
OBJECTIVE_KINDS: tuple[str, ...] = KINDS
FABRICATION_COST: tuple[object, ...] = FABRICATION

STUDY_KEYS = {"name", "output", "budget", "seeds", "convention", "scenarios", "algorithms"}
SCENARIO_KEYS = {"name", "space", "workloads", "aggregate", "weights", "objective",
                 "fabrication_cost", "constraints", "fixed", "exact_optimum", "memory",
                 "technology_nm", "snr", "deployment"}
#: scenario-level shorthands for ``fixed: {memory: ..., technology_nm: ...}``
SHORTHAND_FIXED = ("memory", "technology_nm")
CONSTRAINT_KEYS = {"area_budget_mm2", "min_snr_db"}
#: scenario ``snr:`` options -> ObjectiveConfig fields (problems/hardware/snr.py)
SNR_KEYS = {"adc_range": "snr_adc_range", "aggregate": "snr_aggregate",
            "objective": "snr_objective"}
ALGORITHM_KEYS = {"name", "label", "params"}


@dataclass(frozen=True)
class AlgorithmConfig:
    """One algorithm of a study: registry ``name``, a unique ``label`` and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)


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
    area_budget_mm2: float = 800.0
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


@dataclass(frozen=True)
class StudyConfig:
    """A whole study: scenarios x algorithms x seeds, each run with ``budget`` evaluations."""

    name: str
    output: Path
    scenarios: list[ScenarioConfig]
    algorithms: list[AlgorithmConfig]
    budget: int = DEFAULT_BUDGET
    seeds: list[int] = field(default_factory=lambda: [0])
    convention: str = DEFAULT_CONVENTION
    source: str = ""

    def with_output(self, output: str | Path) -> StudyConfig:
        """Copy with another output directory (validated for writability)."""
        problems: list[str] = []
        path = _check_output(output, problems)
        if problems:
            raise ImcoptError(_format(self.source, problems))
        return StudyConfig(self.name, path, self.scenarios, self.algorithms, self.budget,
                           self.seeds, self.convention, self.source)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (the format `parse_study` reads), with resolved seeds and output."""
        return {
            "name": self.name, "output": str(self.output), "budget": self.budget,
            "seeds": list(self.seeds), "convention": self.convention,
            "scenarios": [_scenario_dict(s) for s in self.scenarios],
            "algorithms": [{"name": a.name, "label": a.label, "params": dict(a.params)}
                           for a in self.algorithms],
        }


def _scenario_dict(s: ScenarioConfig) -> dict[str, Any]:
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


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study YAML file; raise one ImcoptError listing every problem."""
    p = Path(path)
    return parse_study(read_yaml(p, "study config"), source=str(p))


def parse_study(data: Any, source: str = "<study>", check_names: bool = True,
                check_output: bool = True) -> StudyConfig:
    """Validate a mapping (parsed YAML) into a `StudyConfig`.

    With ``check_names`` the space, workload and algorithm names are resolved against the
    registries (loading spaces and workloads); with ``check_output`` the output directory must
    be creatable and writable. Problems are collected, not raised one by one.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise ImcoptError(f"{source}: a study config must be a mapping, got "
                          f"{type(data).__name__}")
    _unknown(data, STUDY_KEYS, "study", problems)
    name = data.get("name", Path(source).stem if source else "study")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        problems.append(f"name: must be a non-empty string without '/', got {short(name)}")
        name = "study"
    sink: list[str] = problems if check_output else []
    output = _check_output(data.get("output", Path("results") / str(name)), sink)
    budget = data.get("budget", DEFAULT_BUDGET)
    if not _is_int(budget) or budget <= 0:
        problems.append(f"budget: must be a positive integer number of evaluations, "
                        f"got {short(budget)}")
        budget = DEFAULT_BUDGET
    seeds = _parse_seeds(data.get("seeds", 1), problems)
    convention = data.get("convention", DEFAULT_CONVENTION)
    if convention not in CONVENTIONS:
        problems.append(f"convention: unknown {short(convention)}; allowed: {list(CONVENTIONS)}")
        convention = DEFAULT_CONVENTION
    scenarios = _parse_scenarios(data.get("scenarios"), problems, check_names)
    algorithms = _parse_algorithms(data.get("algorithms"), problems, check_names)
    for sc in scenarios if convention != "physical" else []:
        if sc.deployment is not None and sc.deployment != _default_deployment():
            problems.append(f"scenario {sc.name!r}: deployment settings need convention "
                            f"physical (the {convention} convention keeps CiMLoop's mapping)")
    if problems:
        raise ImcoptError(_format(source, problems))
    return StudyConfig(name=name, output=output, scenarios=scenarios, algorithms=algorithms,
                       budget=int(budget), seeds=seeds, convention=convention, source=source)


# -- pieces ---------------------------------------------------------------------------------
def _format(source: str, problems: list[str], listed: int = 20) -> str:
    lines = "\n".join(f"  - {p}" for p in problems[:listed])
    if len(problems) > listed:
        lines += f"\n  ... and {len(problems) - listed} more"
    return f"{source}: {len(problems)} problem(s) in the study config:\n{lines}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _unknown(d: Mapping, allowed: set[str], where: str, problems: list[str]) -> None:
    extra = sorted(str(k) for k in d if k not in allowed)
    if extra:
        problems.append(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _check_output(value: Any, problems: list[str]) -> Path:
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        problems.append(f"output: must be a directory path, got {short(value)}")
        return Path("results/study")
    path = Path(value).expanduser().absolute()
    if path.exists() and not path.is_dir():
        problems.append(f"output: {short(str(path))} exists and is not a directory")
        return path
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        problems.append(f"output: {short(str(path))} cannot be created "
                        f"({short(str(probe))} is a file)")
    elif not os.access(probe, os.W_OK | os.X_OK):
        problems.append(f"output: {short(str(path))} is not writable (no write permission on "
                        f"{short(str(probe))})")
    return path


def _parse_seeds(value: Any, problems: list[str]) -> list[int]:
    if _is_int(value):
        if value <= 0:
            problems.append(f"seeds: a count must be positive, got {value}")
            return [0]
        return list(range(value))
    if isinstance(value, list):
        if not value:
            problems.append("seeds: the list is empty")
            return [0]
        bad = [v for v in value if not _is_int(v) or v < 0]
        if bad:
            problems.append(f"seeds: every seed must be a non-negative integer, got {short(bad)}")
            return [0]
        if len(set(value)) != len(value):
            problems.append(f"seeds: duplicate seeds in {short(value)}")
        return [int(v) for v in value]
    problems.append(f"seeds: must be a positive count or a list of integers, got {short(value)}")
    return [0]


def _parse_scenarios(value: Any, problems: list[str], check: bool) -> list[ScenarioConfig]:
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
    area = 800.0
    if not isinstance(constraints, Mapping):
        problems.append(f"{where}.constraints: must be a mapping, got {short(constraints)}")
    else:
        _unknown(constraints, CONSTRAINT_KEYS, f"{where}.constraints", problems)
        area = constraints.get("area_budget_mm2", 800.0)
        if isinstance(area, bool) or not isinstance(area, int | float) or not area > 0:
            problems.append(f"{where}.constraints.area_budget_mm2: must be a positive number "
                            f"of mm^2, got {short(area)}")
            area = 800.0
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


def _parse_algorithms(value: Any, problems: list[str], check: bool) -> list[AlgorithmConfig]:
    if not isinstance(value, list) or not value:
        problems.append("algorithms: must be a non-empty list of names or {name, params}")
        return []
    known = _known_algorithms() if check else None
    out: list[AlgorithmConfig] = []
    for i, raw in enumerate(value):
        where = f"algorithms[{i}]"
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be a name or a mapping {{name, params}}, "
                            f"got {short(raw)}")
            continue
        n0 = len(problems)
        _unknown(raw, ALGORITHM_KEYS, where, problems)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: required, got {short(name)}")
        elif known is not None and name not in known:
            problems.append(f"{where}: unknown algorithm {short(name)}; allowed: {sorted(known)}")
        label = raw.get("label", name)
        if not isinstance(label, str) or not label or "/" in str(label):
            problems.append(f"{where}.label: must be a non-empty string without '/', "
                            f"got {short(label)}")
        params = raw.get("params", {}) or {}
        if not isinstance(params, Mapping):
            problems.append(f"{where}.params: must be a mapping, got {short(params)}")
        elif check and isinstance(name, str) and known is not None and name in known:
            _check_params(name, params, where, problems)
        if len(problems) == n0:
            out.append(AlgorithmConfig(name=name, params=dict(params), label=label))
    labels = [a.label for a in out]
    dup = sorted({n for n in labels if labels.count(n) > 1})
    if dup:
        problems.append(f"algorithms: duplicate labels {dup} (give each a distinct 'label')")
    return out


def _check_params(name: str, params: Mapping, where: str, problems: list[str]) -> None:
    from study.algorithms import ALGORITHMS

    try:
        ALGORITHMS[name].resolve(dict(params))
    except ImcoptError as exc:
        problems.append(f"{where}.params: {exc}")


def _known_algorithms() -> set[str]:
    from study.algorithms import ALGORITHMS

    return set(ALGORITHMS)

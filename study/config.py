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
from problems.hardware.registry import CONVENTIONS, DEFAULT_CONVENTION
from problems.io import read_yaml
from study.recorder import DEFAULT_BUDGET
from study.scenario_config import (  # noqa: F401 - re-exported: the study config's public names
    AGGREGATES,
    SCENARIO_KEYS,
    ScenarioConfig,
    _default_deployment,
    _is_int,
    _unknown,
    parse_scenarios,
    scenario_dict,
)

STUDY_KEYS = {"name", "output", "budget", "seeds", "convention", "scenarios", "algorithms"}
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
            "scenarios": [scenario_dict(s) for s in self.scenarios],
            "algorithms": [{"name": a.name, "label": a.label, "params": dict(a.params)}
                           for a in self.algorithms],
        }


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
    scenarios = parse_scenarios(data.get("scenarios"), problems, check_names)
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

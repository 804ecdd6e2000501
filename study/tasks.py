"""The task model of a study: run specs, tasks, their fingerprints and integrity checks, and the
plan (what is still to do in an output directory).

A run's files are ``runs/<scenario>/<algorithm>/seed-<k>.npz`` (its archive) and
``seed-<k>.json`` (its summary, written last, with the archive's sha256). A run counts as
finished only when the summary matches the run's definition (its fingerprint) AND the archive
matches the checksum; a damaged file is reported and recomputed, never trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from problems.fingerprint import digest, file_digest
from study.config import AlgorithmConfig, ScenarioConfig, StudyConfig, scenario_dict

#: (k, n_parts, start, stop) of one enumeration slice
Part = tuple[int, int, int, int]


def scenario_fingerprint(scenario: ScenarioConfig, convention: str, identity: str = "") -> str:
    """Identity of a scenario's cached optimum / baselines."""
    return digest({"scenario": scenario_dict(scenario) | {"exact_optimum": None},
                   "convention": convention, "identity": identity}, 16)


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: which scenario, algorithm and seed, and where it goes."""

    scenario: ScenarioConfig
    algorithm: AlgorithmConfig
    seed: int
    budget: int
    convention: str
    identity: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scenario.name, self.algorithm.label, self.seed)

    def fingerprint(self) -> str:
        return digest({"scenario": scenario_dict(self.scenario) | {"exact_optimum": None},
                       "algorithm": [self.algorithm.name, self.algorithm.params],
                       "seed": self.seed, "budget": self.budget,
                       "convention": self.convention, "identity": self.identity}, 16)

    def paths(self, out: Path) -> tuple[Path, Path]:
        d = out / "runs" / self.scenario.name / self.algorithm.label
        return d / f"seed-{self.seed}.npz", d / f"seed-{self.seed}.json"


@dataclass(frozen=True)
class Task:
    """A unit of work: a run, one slice of an enumeration, or the baselines of a scenario."""

    kind: str  # "run" | "optimum-part" | "baselines"
    out: Path
    run: RunSpec | None = None
    scenario: ScenarioConfig | None = None
    convention: str = "physical"
    part: Part = (0, 1, 0, 0)
    budget: int = 0
    identity: str = ""

    @property
    def where(self) -> tuple[ScenarioConfig | None, str]:
        """The scenario and convention the task computes on (its run's, or its own)."""
        if self.run is not None:
            return self.run.scenario, self.run.convention
        return self.scenario, self.convention


@dataclass(frozen=True)
class TaskBatch:
    """Tasks executed in ONE `study.session.StudySession` (problems built once per batch)."""

    backend: Any
    tasks: tuple[Task, ...]


# -- reading artefacts back ------------------------------------------------------------------
def read_json(path: Path) -> tuple[dict[str, Any] | None, str]:
    """(data, status): status "ok", "missing" or "damaged (reason)"."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"damaged (cannot read: {exc})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"damaged (not valid JSON: {exc})"
    if not isinstance(data, dict):
        return None, "damaged (not a JSON object)"
    return data, "ok"


def damage_reason(status: str) -> str:
    """"damaged (reason)" -> "reason"."""
    return status[len("damaged ("):-1] if status.startswith("damaged (") else status


def cached(path: Path, fingerprint: str) -> tuple[dict[str, Any] | None, str]:
    """A cache file and its status: "ok", "missing", "stale" (another definition) or
    "damaged (reason)"."""
    data, status = read_json(path)
    if data is None:
        return None, status
    return (data, "ok") if data.get("fingerprint") == fingerprint else (None, "stale")


def run_status(run: RunSpec, out: Path) -> tuple[dict[str, Any] | None, str, Path]:
    """(summary, status, file): status "ok", "missing", "stale" or "damaged (reason)" and the
    file it concerns."""
    npz, js = run.paths(out)
    rec, status = cached(js, run.fingerprint())
    if rec is None:
        return None, status, js
    if not npz.is_file():
        return None, "damaged (missing: its summary exists)", npz
    want = rec.get("archive_sha256")
    if want is not None:
        if file_digest(npz) != want:
            return None, "damaged (truncated or changed: checksum mismatch)", npz
        return rec, "ok", npz
    try:  # summaries written before checksums: the archive must at least load
        from study.archive import Archive

        Archive.load(npz)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        return None, f"damaged ({type(exc).__name__}: {exc})", npz
    return rec, "ok", npz


# -- the plan --------------------------------------------------------------------------------
#: designs per enumeration task (parts are cached). Large: the branch and bound prunes best
#: over a whole space (one incumbent); rram-paper is one part of ~2 s
OPTIMUM_PART_DESIGNS = 16_000_000
OPTIMUM_MAX_PARTS = 64


def part_path(out: Path, scenario: str, k: int, n: int) -> Path:
    """Cache file of enumeration slice k of n."""
    return out / "optimum" / "parts" / scenario / f"part-{k:03d}-of-{n:03d}.json"


def optimum_parts(size: int) -> list[Part]:
    """Slices (k, n, start, stop) an enumeration of ``size`` designs is split into."""
    n = int(min(OPTIMUM_MAX_PARTS, max(1, -(-size // OPTIMUM_PART_DESIGNS))))
    return [(k, n, k * size // n, (k + 1) * size // n) for k in range(n)]


@dataclass
class StudyPlan:
    """What a study still has to do (and what is already done)."""

    runs: list[RunSpec]
    todo_runs: list[RunSpec]
    todo_parts: list[tuple[ScenarioConfig, Part]]
    to_merge: list[ScenarioConfig]
    todo_baselines: list[ScenarioConfig]
    damaged: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason)

    def tasks(self, out: Path, config: StudyConfig, identities: dict[str, str]) -> list[Task]:
        """The plan's tasks: enumeration slices first (the longest), then runs, baselines."""
        conv = config.convention
        return ([Task("optimum-part", out, scenario=s, convention=conv, part=part,
                      identity=identities[s.name]) for s, part in self.todo_parts]
                + [Task("run", out, run=r) for r in self.todo_runs]
                + [Task("baselines", out, scenario=s, convention=conv, budget=config.budget,
                        identity=identities[s.name]) for s in self.todo_baselines])


def plan_study(config: StudyConfig, out: Path, space_size: Callable[[ScenarioConfig], int],
               identities: dict[str, str], baselines: bool = True) -> StudyPlan:
    """Every run of the study, and which runs / caches are missing or damaged in ``out``.

    ``space_size(scenario) -> int`` sizes the enumerations."""
    runs = [RunSpec(s, a, seed, config.budget, config.convention, identities[s.name])
            for s in config.scenarios for a in config.algorithms for seed in config.seeds]
    plan = StudyPlan(runs, [], [], [], [])

    def ok(path: Path, status: str) -> bool:
        if status.startswith("damaged"):
            plan.damaged.append((path, damage_reason(status)))
        return status == "ok"

    for r in runs:
        _, status, path = run_status(r, out)
        if not ok(path, status):
            plan.todo_runs.append(r)
    for s in config.scenarios:
        fp = scenario_fingerprint(s, config.convention, identities[s.name])
        if s.exact_optimum:
            path = out / "optimum" / f"{s.name}.json"
            if not ok(path, cached(path, fp)[1]):
                plan.to_merge.append(s)
                for part in optimum_parts(space_size(s)):
                    pp = part_path(out, s.name, part[0], part[1])
                    if not ok(pp, cached(pp, fp)[1]):
                        plan.todo_parts.append((s, part))
        elif baselines:
            path = out / "baselines" / f"{s.name}.json"
            if not ok(path, cached(path, fp)[1]):
                plan.todo_baselines.append(s)
    return plan

"""The benchmark suite's instances: named scenarios with a stable id, a budget and an exact
optimum stored with the fingerprint of the model it was computed with.

An instance is a study scenario (space, workloads, aggregation or multi-objective form,
constraints, fixed parameters) plus its convention and budget; `configs/suite/instances.yaml`
lists them. The budget follows one declared rule, :func:`budget_rule`, of the space size. The
exact optimum (and exact E/L/A Pareto front) comes from the study runner's enumeration path
(``exact_optimum: true``) and is stored as ``results/suite/optima/<id>.json``; its
``identity`` hashes the instance definition, the space's values, the workloads' layers and the
cost model's source, so a changed model makes the stored optimum "stale".
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError, short
from problems.io import atomic_write_json, read_yaml

ROOT = Path(__file__).resolve().parents[2]
SUITE_FILE = ROOT / "configs" / "suite" / "instances.yaml"
OPTIMA_DIR = ROOT / "results" / "suite" / "optima"
INSTANCE_KEYS = {"id", "description", "space", "workloads", "aggregate", "weights", "objective",
                 "constraints", "fixed", "convention", "budget", "requires"}
SCENARIO_FIELDS = ("space", "workloads", "aggregate", "weights", "objective", "constraints",
                   "fixed")
MIN_BUDGET, MAX_BUDGET = 500, 2800


def budget_rule(n_designs: int) -> int:
    """The suite's declared budget rule: clip(100 * round(sqrt(N) / 100), 500, 2800)."""
    return int(min(MAX_BUDGET, max(MIN_BUDGET, 100 * round(math.sqrt(n_designs) / 100))))


@dataclass(frozen=True)
class Instance:
    """One suite instance (see the module docstring)."""

    id: str
    description: str
    scenario: dict[str, Any]
    convention: str = "physical"
    budget_override: int | None = None
    requires: tuple[str, ...] = ()
    unavailable: str = ""  # why this checkout cannot run it ("" = available)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return not self.unavailable

    @property
    def multi_objective(self) -> bool:
        return self.scenario.get("objective", "single") != "single"

    def scenario_config(self) -> Any:
        """The instance as a validated `ScenarioConfig` (named by its id)."""
        return self.study_config(["random-search"], [0], OPTIMA_DIR / "work",
                                 budget=1).scenarios[0]

    def study_config(self, algorithms: list[Any], seeds: list[int], out: Path,
                     exact: bool = False, budget: int | None = None) -> Any:
        """A study of this one instance (its budget unless ``budget`` is given)."""
        from study.config import parse_study

        self._check_available()
        sc = {"name": self.id, **self.scenario, "exact_optimum": exact}
        data = {"name": self.id, "output": str(out),
                "budget": int(budget if budget is not None else self.budget),
                "seeds": list(seeds), "convention": self.convention, "scenarios": [sc],
                "algorithms": list(algorithms)}
        return parse_study(data, source=f"suite instance {self.id}", check_output=False)

    def _check_available(self) -> None:
        if self.unavailable:
            raise ImcoptError(f"suite instance {self.id!r} is unavailable: {self.unavailable}")

    @property
    def n_designs(self) -> int:
        from study.runner import Backend

        return int(Backend().space(self.scenario_config()).size)

    @property
    def budget(self) -> int:
        if self.budget_override is not None:
            return self.budget_override
        return budget_rule(self.n_designs) if self.available else 0

    def identity(self) -> str:
        """Hash of what the optimum depends on: definition, space values, workload layers,
        cost model source (`problems.specialists.model_fingerprint`)."""
        from problems.specialists import _workload_table, model_fingerprint
        from problems.workloads import load_workloads
        from study.runner import Backend

        sc = self.scenario_config()
        payload = {"definition": {k: self.raw.get(k) for k in sorted(self.raw)
                                  if k not in ("description",)},
                   "space": Backend().space(sc).fingerprint(),
                   "workloads": [[w.name, _workload_table(w)]
                                 for w in load_workloads(sc.workloads)],
                   "model": model_fingerprint(self.convention)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                              ).hexdigest()[:32]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (what `imcopt suite show --json` prints)."""
        d: dict[str, Any] = {"id": self.id, "description": self.description,
                             "convention": self.convention, **self.scenario,
                             "available": self.available}
        if self.unavailable:
            d["unavailable"] = self.unavailable
            return d
        d.update(n_designs=self.n_designs, budget=self.budget)
        return d


# -- loading --------------------------------------------------------------------------------
def _supported(feature: str) -> bool:
    """Whether this checkout knows a scenario feature an instance ``requires``."""
    if feature == "min_snr_db":
        from study import config

        return "min_snr_db" in getattr(config, "CONSTRAINT_KEYS", set())
    return False


def load_suite(path: str | Path | None = None) -> list[Instance]:
    """Read and validate the suite file; ids must be unique; one ImcoptError lists problems."""
    p = Path(path) if path is not None else SUITE_FILE
    data = read_yaml(p, "suite file")
    if not isinstance(data, Mapping) or not isinstance(data.get("instances"), list):
        raise ImcoptError(f"{p}: a suite file is a mapping with an 'instances' list")
    problems: list[str] = []
    out: list[Instance] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["instances"]):
        where = f"instances[{i}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be a mapping, got {short(raw)}")
            continue
        extra = sorted(str(k) for k in raw if k not in INSTANCE_KEYS)
        if extra:
            problems.append(f"{where}: unknown key(s) {extra}; allowed: {sorted(INSTANCE_KEYS)}")
        iid = raw.get("id")
        if not isinstance(iid, str) or not iid or "/" in iid or iid.startswith("."):
            problems.append(f"{where}.id: required, a name without '/', got {short(iid)}")
            continue
        if iid in seen:
            problems.append(f"{where}: duplicate id {iid!r}")
        seen.add(iid)
        requires = raw.get("requires") or ()
        requires = (requires,) if isinstance(requires, str) else tuple(requires)
        missing = [f for f in requires if not _supported(f)]
        budget = raw.get("budget")
        if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool)
                                   or not MIN_BUDGET <= budget <= MAX_BUDGET):
            problems.append(f"{where}.budget: an integer in [{MIN_BUDGET}, {MAX_BUDGET}], "
                            f"got {short(budget)}")
            budget = None
        inst = Instance(
            id=iid, description=str(raw.get("description", "")),
            scenario={k: raw[k] for k in SCENARIO_FIELDS if k in raw},
            convention=str(raw.get("convention", "physical")), budget_override=budget,
            requires=requires, raw=dict(raw),
            unavailable=(f"needs {', '.join(missing)} (not in this version of imcopt)"
                         if missing else ""))
        if inst.available:
            try:
                inst.scenario_config()
            except ImcoptError as exc:
                problems.append(f"instance {iid}: {exc}")
                continue
        out.append(inst)
    if problems:
        raise ImcoptError(f"{p}: {len(problems)} problem(s) in the suite:\n"
                          + "\n".join(f"  - {q}" for q in problems))
    return out


def select(instances: list[Instance], ids: list[str] | None) -> list[Instance]:
    """The instances named in ``ids`` (all available ones when empty), in suite order."""
    if not ids:
        return [i for i in instances if i.available]
    known = {i.id: i for i in instances}
    unknown = [x for x in ids if x not in known]
    if unknown:
        raise ImcoptError(f"unknown suite instance(s) {unknown}; see 'imcopt suite list'")
    for x in ids:
        known[x]._check_available()
    return [i for i in instances if i.id in set(ids)]


# -- exact optima ---------------------------------------------------------------------------
def optimum_path(inst: Instance, optima_dir: Path | None = None) -> Path:
    return (optima_dir or OPTIMA_DIR) / f"{inst.id}.json"


def load_optimum(inst: Instance, optima_dir: Path | None = None) -> dict[str, Any] | None:
    """The stored optimum JSON of an instance, or None when absent or unreadable."""
    try:
        return json.loads(optimum_path(inst, optima_dir).read_text())
    except (OSError, ValueError):
        return None


def optimum_status(inst: Instance, optima_dir: Path | None = None) -> str:
    """"ok", "missing", "stale" (model, space, workloads or definition changed) or
    "unavailable"."""
    if not inst.available:
        return "unavailable"
    opt = load_optimum(inst, optima_dir)
    if opt is None or opt.get("score") is None:
        return "missing"
    return "ok" if opt.get("identity") == inst.identity() else "stale"


def compute_optima(instances: list[Instance], jobs: int | None = None,
                   optima_dir: Path | None = None, force: bool = False,
                   log: Callable[[str], None] | None = None, progress: bool = True
                   ) -> list[Path]:
    """Enumerate every instance's space (the study runner's exact-optimum path, resumable
    slices in ``<optima_dir>/work``) and store each optimum with its identity."""
    from study.runner import run_study

    say = log or (lambda msg: None)
    odir = optima_dir or OPTIMA_DIR
    written = []
    for inst in instances:
        if not force and optimum_status(inst, odir) == "ok":
            say(f"{inst.id}: stored optimum is current")
            continue
        work = odir / "work" / inst.id
        cfg = inst.study_config(["random-search"], [0], work, exact=True, budget=1)
        run_study(cfg, out=work, jobs=jobs, progress=progress, finalize=False, log=say)
        opt = json.loads((work / "optimum" / f"{inst.id}.json").read_text())
        record = {"id": inst.id, "identity": inst.identity(),
                  "model_fingerprint": _model_fp(inst.convention),
                  "convention": inst.convention, "budget": inst.budget,
                  "definition": inst.summary(), **opt}
        path = atomic_write_json(optimum_path(inst, odir), record)
        written.append(Path(path) if path else optimum_path(inst, odir))
        shutil.rmtree(work, ignore_errors=True)
        say(f"{inst.id}: optimum {record['score']:.6g} over {record['n_designs']:,} designs, "
            f"front of {len(record['front'])}")
    return written


def _model_fp(convention: str) -> str:
    from problems.specialists import model_fingerprint

    return model_fingerprint(convention)

"""The benchmark suite's instances: named scenarios with a stable id, a budget and an exact
optimum stored with the fingerprint of the model it was computed with.

An instance is a study scenario (space, workloads, aggregation or multi-objective form,
constraints, fixed parameters) plus its convention and budget; `configs/suite/instances.yaml`
lists them. The budget follows one declared rule, :func:`budget_rule`, of the space size. The
exact optimum (and exact E/L/A Pareto front) comes from
`problems.exhaustive.exhaustive_search` over cached slices of the space (resumable, parallel)
and is stored as ``results/suite/optima/<id>.json``; its
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
from study.tasks import read_json

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
        snr = Path(model_fingerprint.__code__.co_filename).parent / "hardware" / "snr.py"
        if "min_snr_db" in self.requires and snr.is_file():  # the accuracy model too
            payload["snr_model"] = hashlib.sha256(snr.read_bytes()).hexdigest()
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
#: a scenario fragment that uses each feature an instance may ``require`` (and the parsed
#: ScenarioConfig attribute that must carry it): support is probed by parsing, not by looking
#: for a module attribute (which broke when study.config was split, issue 15).
FEATURE_PROBES: dict[str, tuple[dict[str, Any], str]] = {
    "min_snr_db": ({"constraints": {"min_snr_db": 10.0}}, "min_snr_db"),
}


def _supported(feature: str) -> bool:
    """Whether this checkout's scenario parser accepts a feature an instance ``requires``."""
    from study.scenario_config import parse_scenarios

    if feature not in FEATURE_PROBES:
        return False
    fragment, attr = FEATURE_PROBES[feature]
    problems: list[str] = []
    parsed = parse_scenarios([{"name": "probe", "space": "rram-paper", "workloads": "alexnet",
                               **fragment}], problems, check=False)
    return not problems and len(parsed) == 1 and getattr(parsed[0], attr, None) is not None


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


SLICE_DESIGNS = 250_000  # designs per enumeration slice (each cached: resumable)


def _problem_of(inst: Instance) -> Any:
    from study.runner import Backend

    key = inst.id + ":" + json.dumps(inst.raw, sort_keys=True, default=str)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = Backend().build_problem(inst.scenario_config(), inst.convention)
    return _PROBLEMS[key]


_PROBLEMS: dict[str, Any] = {}


def enumerate_slice(inst: Instance, start: int, stop: int) -> dict[str, Any]:
    """Best design, (E, L, A) front and specialists of designs ``start..stop-1`` of the
    instance's space, in the study runner's slice format (`study.backend.Backend.optimum_part`,
    i.e. `problems.exhaustive.exhaustive_search` on a flat range)."""
    import time

    from study.runner import Backend

    t0 = time.perf_counter()
    part = Backend().optimum_part(_problem_of(inst), start, stop)
    part.update(range=[start, stop], seconds=time.perf_counter() - t0)
    return part


def _slice_task(args: tuple[Instance, int, int, int, int, Path, str]) -> Path:
    inst, j, k, start, stop, path, identity = args
    part = enumerate_slice(inst, start, stop)
    atomic_write_json(path, {"identity": identity, "part": [j, k, start, stop], **part})
    return path


def merge_slices(inst: Instance, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact optimum (first minimum in enumeration order), the non-dominated union of the
    slices' fronts and the optimum's metrics: the study runner's merge
    (`study.enumeration.merge_optimum`), so the suite and `imcopt run` agree by construction."""
    from study.enumeration import merge_optimum
    from study.runner import Backend
    from study.session import StudySession

    opt, _ = merge_optimum(parts, StudySession(Backend()), inst.scenario_config(),
                           inst.convention)
    out: dict[str, Any] = {k: opt[k] for k in ("n_designs", "n_feasible", "seconds", "score",
                                               "x", "design", "front", "front_x")}
    m = opt.get("metrics")
    if m is not None:
        out.update(energy_j=m["energy_j"], latency_s=m["latency_s"], area_mm2=m["area_mm2"],
                   workloads=m["workloads"])
    return out


def compute_optima(instances: list[Instance], jobs: int | None = None,
                   optima_dir: Path | None = None, force: bool = False,
                   log: Callable[[str], None] | None = None, progress: bool = True
                   ) -> list[Path]:
    """Enumerate every instance's space in cached slices (``<optima_dir>/work``, resumable,
    ``jobs`` processes) and store each optimum with its identity."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    say = log or (lambda msg: None)
    odir = optima_dir or OPTIMA_DIR
    written = []
    for inst in instances:
        if not force and optimum_status(inst, odir) == "ok":
            say(f"{inst.id}: stored optimum is current")
            continue
        identity, n = inst.identity(), inst.n_designs
        k = max(1, -(-n // SLICE_DESIGNS))
        work = odir / "work" / inst.id
        todo = []
        for j in range(k):
            path = work / f"slice-{j:03d}-of-{k:03d}.json"
            cached = read_json(path)[0]
            if force or cached is None or cached.get("identity") != identity \
                    or "part" not in cached:
                todo.append((inst, j, k, j * n // k, (j + 1) * n // k, path, identity))
        say(f"{inst.id}: enumerating {n:,} designs ({len(todo)} of {k} slices left)")
        if todo:
            _problem_of(inst)  # e.g. the specialists of a normalized instance, found once
        bar = tqdm(total=len(todo), desc=inst.id, unit="slice", disable=not progress)
        if (jobs or 1) > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as ex:
                for _ in ex.map(_slice_task, todo):
                    bar.update(1)
        else:
            for t in todo:
                _slice_task(t)
                bar.update(1)
        bar.close()
        parts = [read_json(work / f"slice-{j:03d}-of-{k:03d}.json")[0] for j in range(k)]
        if any(p is None for p in parts):
            raise ImcoptError(f"enumeration of suite instance {inst.id!r} is incomplete")
        record = {"id": inst.id, "identity": identity,
                  "model_fingerprint": _model_fp(inst.convention),
                  "convention": inst.convention, "budget": inst.budget,
                  "definition": inst.summary(), **merge_slices(inst, parts)}
        path = optimum_path(inst, odir)
        atomic_write_json(path, record)
        written.append(path)
        shutil.rmtree(work, ignore_errors=True)
        best = "none: no feasible design" if record["score"] is None else \
            f"{record['score']:.6g}"
        say(f"{inst.id}: optimum {best} over {record['n_designs']:,} designs "
            f"({record['n_feasible']:,} feasible), front of {len(record['front'])}, "
            f"{record['seconds']:.0f} s of enumeration")
    return written


def _model_fp(convention: str) -> str:
    from problems.specialists import model_fingerprint

    return model_fingerprint(convention)

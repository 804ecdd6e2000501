"""Run a study: scenarios x algorithms x seeds, resumable, locally parallel or on Dask.

Layout of the output directory DIR::

    DIR/study.json                                   resolved config + content identities
    DIR/runs/<scenario>/<algorithm>/seed-<k>.npz     the run's archive (every evaluation)
    DIR/runs/<scenario>/<algorithm>/seed-<k>.json    its summary (written last: "run finished")
    DIR/optimum/parts/<scenario>/part-K-of-N.json    enumeration slices (resumable, parallel)
    DIR/optimum/<scenario>.json                      exact optimum + Pareto front (merged)
    DIR/baselines/<scenario>.json                    largest-workload and specialist designs
    DIR/runs.csv, best_designs.csv, summary.json, report.md, plots/*.png

Every file is written atomically (temp file in the same folder + os.replace), so a study killed
at any moment leaves only complete files (stray temp files are removed on the next start).
Re-running skips every run and slice whose JSON matches its definition: scenario, algorithm,
seed, budget, convention, and the content of the space, the workloads and the cost model
(``Backend.identity``), so a changed model is recomputed, never mixed with old results.
Each run depends only on its own seed, so results do not depend on ``jobs`` or Dask.

``summary.json``::

    {"scenarios": [{"name", "optimum": score or null,
                    "algorithms": [{"name", "seeds", "median_best", "iqr_best",
                                    "median_gap", "success_rate_5pct"}]}]}

``seeds`` is the number of finished runs; scores in J*s*mm^2; ``median_gap`` is a fraction
(0.03 = 3 % above the optimum) and it and ``success_rate_5pct`` are null without an optimum.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from problems.io import atomic_write_json
from study.config import AlgorithmConfig, ScenarioConfig, StudyConfig, _scenario_dict

# -- the backend: what a run needs from the problem / algorithm modules -----------------------


class Backend:
    """Builds problems and runs algorithms with the real `problems` / `study` modules.

    Kept as a picklable object handed to every task, so a test (or another evaluator) can
    substitute its own implementation in worker processes and on Dask workers.
    """

    def build_problem(self, scenario: ScenarioConfig, convention: str) -> Any:
        """The `JointIMCProblem` of a scenario."""
        from problems.objectives import ObjectiveConfig
        from problems.problem import JointIMCProblem
        from problems.workloads import load_workloads

        space = self.space(scenario)
        workloads = load_workloads(scenario.workloads)
        objective = ObjectiveConfig(
            kind=scenario.objective, aggregate=scenario.aggregate,
            weights=tuple(scenario.weights) if scenario.weights else None,
            fabrication_cost=scenario.fabrication_cost,
            area_budget_mm2=scenario.area_budget_mm2, **scenario.snr_objective_fields())
        spec = None
        if scenario.aggregate == "normalized":
            from problems.specialists import specialist_edap

            spec = specialist_edap(space, workloads, objective, convention, progress=False)
        return JointIMCProblem(space, workloads, objective=objective, convention=convention,
                               specialist_edap=spec)

    def space(self, scenario: ScenarioConfig) -> Any:
        """The scenario's search space, with its fixed parameters applied."""
        from problems.spaces import SearchSpace

        space = SearchSpace.load(scenario.space)
        if scenario.fixed:
            space = _fix_space(space, scenario.fixed)
        return space

    def run(self, algorithm: AlgorithmConfig, problem: Any, budget: int, seed: int) -> Any:
        """One run -> an `Archive` of every evaluation."""
        from study.algorithms import run_algorithm

        return run_algorithm(algorithm.name, problem, budget=budget, seed=seed,
                             params=dict(algorithm.params) or None)

    def decode(self, problem: Any, X: np.ndarray) -> list[dict[str, Any]]:
        """Design parameter records of index vectors ``X`` (n, n_var)."""
        return problem.space.decode(np.atleast_2d(X)).to_records()

    def workload_names(self, problem: Any) -> list[str]:
        """Names of the problem's workloads, in column order."""
        return list(problem.workload_names)

    def identity(self, scenario: ScenarioConfig, convention: str) -> str:
        """Content hash of what a scenario's results depend on beyond its config: the space's
        values, the workloads' layers and the cost model's source (cached results of a
        changed model are recomputed, never mixed)."""
        from problems.specialists import model_fingerprint
        from problems.workloads.layers import INT_FIELDS

        problem = _problem(self, scenario, convention)
        workloads = [[w.name, [getattr(w, f).tolist() for f in INT_FIELDS],
                      np.asarray(w.dynamic, bool).tolist()] for w in problem.stack.workloads]
        return _digest({"space": problem.space.fingerprint(), "workloads": workloads,
                        "model": model_fingerprint(convention)})

    def space_size(self, scenario: ScenarioConfig) -> int:
        """Number of designs in the scenario's space."""
        return int(self.space(scenario).size)

    def optimum_part(self, scenario: ScenarioConfig, convention: str, start: int,
                     stop: int) -> dict[str, Any]:
        """Enumerate designs ``start..stop-1`` of the space: best, Pareto front, specialists."""
        from problems.exhaustive import exhaustive_search

        problem = _problem(self, scenario, convention)
        res = exhaustive_search(problem.space, problem.stack, problem.objective, convention,
                                top_k=1, progress=False,
                                specialist_edap=problem.specialist_edap,
                                flat_range=(start, stop))
        return {
            "n_designs": int(res.n_designs), "n_feasible": int(res.n_feasible),
            "best_x": None if res.best_x is None else np.asarray(res.best_x).tolist(),
            "best_log10": _finite_or_none(res.best_log10_score),
            "front_log10": np.asarray(res.front_log10, float).tolist(),
            "front_x": np.asarray(res.front_x).tolist(),
            "workload_best_x": np.asarray(res.workload_best_x).tolist(),
            "workload_best_log10": [_finite_or_none(v) for v in res.workload_best_log10],
        }

    def metrics(self, scenario: ScenarioConfig, convention: str, X: np.ndarray
                ) -> list[dict[str, Any]]:
        """Design records and per-workload metrics of index vectors X (n, n_var)."""
        problem = _problem(self, scenario, convention)
        X = np.atleast_2d(np.asarray(X, np.int64))
        r = problem.evaluate_batch(X)
        designs = self.decode(problem, X)
        names = self.workload_names(problem)
        return [{"design": designs[i], "workloads": names,
                 "score": _finite_or_none(r["score"][i]),
                 "area_mm2": float(r["area_mm2"][i]),
                 "energy_j": np.asarray(r["energy_j"][i], float).tolist(),
                 "latency_s": np.asarray(r["latency_s"][i], float).tolist(),
                 "edap_j_s_mm2": np.asarray(r["edap"][i], float).tolist()}
                for i in range(len(X))]

    def workload_sizes(self, scenario: ScenarioConfig, convention: str) -> list[int]:
        """Static weights per workload (the largest defines the largest-workload baseline)."""
        from study.baselines import workload_weights

        problem = _problem(self, scenario, convention)
        return list(workload_weights(problem).values())

    def baselines(self, scenario: ScenarioConfig, convention: str, budget: int
                  ) -> dict[str, Any]:
        """Largest-workload and specialist designs found by `paper-ga` (no enumeration)."""
        from study.baselines import largest_workload, specialist_designs

        problem = _problem(self, scenario, convention)
        spec = specialist_designs(problem, budget=budget, seed=0)
        names = list(problem.workload_names)
        X = np.stack([spec[w].x for w in names])
        metrics = dict(zip(names, self.metrics(scenario, convention, X), strict=True))
        largest = largest_workload(problem)
        return {"source": f"paper-ga, {budget} evaluations, seed 0",
                "largest_workload": largest,
                "designs": {f"largest-workload ({largest})": metrics[largest]},
                "specialists": metrics}


def _finite_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _fix_space(space: Any, fixed: dict[str, Any]) -> Any:
    """The space with some parameters held at given values (removed from the variables)."""
    from problems.spaces import SearchSpace

    variables = [v for v in space.variables if v.name not in fixed]
    if not variables:
        raise ImcoptError(f"search space {space.name!r}: fixing {sorted(fixed)} leaves no "
                          f"variable to search")
    names = {v.name for v in variables}
    held = {k: v for k, v in space.fixed.items() if k not in names} | dict(fixed)
    return SearchSpace(f"{space.name}+fixed", variables, held, space.description,
                       source=space.source)


# -- tasks ------------------------------------------------------------------------------------
OPTIMUM_PART_DESIGNS = 250_000  # designs per enumeration task (parts are cached)
OPTIMUM_MAX_PARTS = 64


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
        return _digest({"scenario": _scenario_dict(self.scenario) | {"exact_optimum": None},
                        "algorithm": [self.algorithm.name, self.algorithm.params],
                        "seed": self.seed, "budget": self.budget,
                        "convention": self.convention, "identity": self.identity})

    def paths(self, out: Path) -> tuple[Path, Path]:
        d = out / "runs" / self.scenario.name / self.algorithm.label
        return d / f"seed-{self.seed}.npz", d / f"seed-{self.seed}.json"


@dataclass(frozen=True)
class Task:
    """A unit of work for a worker: a run, one slice of an enumeration, or baselines."""

    kind: str  # "run" | "optimum-part" | "baselines"
    out: Path
    backend: Backend
    run: RunSpec | None = None
    scenario: ScenarioConfig | None = None
    convention: str = "physical"
    part: tuple[int, int, int, int] = (0, 1, 0, 0)  # k, n_parts, start, stop
    budget: int = 0
    identity: str = ""


def _digest(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def scenario_fingerprint(scenario: ScenarioConfig, convention: str, identity: str = "") -> str:
    """Identity of a scenario's cached optimum / baselines."""
    return _digest({"scenario": _scenario_dict(scenario) | {"exact_optimum": None},
                    "convention": convention, "identity": identity})


def part_path(out: Path, scenario: str, k: int, n: int) -> Path:
    """Cache file of enumeration slice k of n."""
    return out / "optimum" / "parts" / scenario / f"part-{k:03d}-of-{n:03d}.json"


def optimum_parts(size: int) -> list[tuple[int, int, int, int]]:
    """Slices (k, n, start, stop) an enumeration of ``size`` designs is split into."""
    n = int(min(OPTIMUM_MAX_PARTS, max(1, -(-size // OPTIMUM_PART_DESIGNS))))
    return [(k, n, k * size // n, (k + 1) * size // n) for k in range(n)]


_PROBLEMS: dict[str, Any] = {}


def _problem(backend: Backend, scenario: ScenarioConfig, convention: str) -> Any:
    key = f"{type(backend).__qualname__}:{scenario_fingerprint(scenario, convention)}"
    if key not in _PROBLEMS:
        _PROBLEMS[key] = backend.build_problem(scenario, convention)
    return _PROBLEMS[key]


_IDENTITIES: dict[str, str] = {}


def _check_identity(backend: Backend, scenario: ScenarioConfig, convention: str,
                    expected: str) -> None:
    """A worker (e.g. a remote Dask worker) must run the same model, space and workloads."""
    if not expected:
        return
    key = f"{type(backend).__qualname__}:{scenario_fingerprint(scenario, convention)}"
    if key not in _IDENTITIES:
        _IDENTITIES[key] = backend.identity(scenario, convention)
    if _IDENTITIES[key] != expected:
        raise ImcoptError(f"scenario {scenario.name!r}: this worker's cost model, space or "
                          f"workloads differ from the study's (install the same imcopt "
                          f"version on every Dask worker)")


def execute_task(task: Task) -> dict[str, Any]:
    """Run one task in this process and write its files atomically; return its summary."""
    if task.kind == "run":
        assert task.run is not None
        _check_identity(task.backend, task.run.scenario, task.run.convention,
                        task.run.identity)
        return _execute_run(task)
    sc = task.scenario
    assert sc is not None
    _check_identity(task.backend, sc, task.convention, task.identity)
    fp = scenario_fingerprint(sc, task.convention, task.identity)
    t0 = time.perf_counter()
    if task.kind == "optimum-part":
        k, n, start, stop = task.part
        result = task.backend.optimum_part(sc, task.convention, start, stop)
        result.update(scenario=sc.name, fingerprint=fp, part=[k, n, start, stop],
                      seconds=time.perf_counter() - t0)
        atomic_write_json(part_path(task.out, sc.name, k, n), result)
        return result
    if task.kind == "baselines":  # optional extra: a failure is reported, not fatal
        try:
            result = dict(task.backend.baselines(sc, task.convention, task.budget))
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {exc}"}
        result.update(scenario=sc.name, fingerprint=fp, seconds=time.perf_counter() - t0)
        atomic_write_json(task.out / "baselines" / f"{sc.name}.json", result)
        return result
    raise ImcoptError(f"unknown task kind {task.kind!r}")


def _execute_run(task: Task) -> dict[str, Any]:
    spec = task.run
    assert spec is not None
    backend = task.backend
    npz, js = spec.paths(task.out)
    problem = _problem(backend, spec.scenario, spec.convention)
    t0 = time.perf_counter()
    archive = backend.run(spec.algorithm, problem, spec.budget, spec.seed)
    seconds = time.perf_counter() - t0
    npz.parent.mkdir(parents=True, exist_ok=True)
    archive.save(npz)  # atomic: temp file in the same folder + os.replace
    summary = run_summary(archive, backend, problem)
    summary.update(scenario=spec.scenario.name, algorithm=spec.algorithm.label,
                   algorithm_name=spec.algorithm.name, seed=spec.seed, budget=spec.budget,
                   convention=spec.convention, seconds=seconds, archive=npz.name,
                   fingerprint=spec.fingerprint())
    atomic_write_json(js, summary)  # written last: its presence marks the run finished
    return summary


def run_summary(archive: Any, backend: Backend, problem: Any) -> dict[str, Any]:
    """Best design of an archive with its per-workload metrics (JSON-ready)."""
    score = np.asarray(archive.score, float)
    n = int(score.size)
    names = backend.workload_names(problem)
    out: dict[str, Any] = {"evaluations": n, "workloads": names}
    if n == 0 or not np.any(np.isfinite(score)):
        out.update(best_score=None, feasible=False, best_design=None)
        return out
    i = int(np.argmin(score))
    out.update(
        best_score=float(score[i]), feasible=bool(np.asarray(archive.feasible)[i]),
        best_eval=int(np.asarray(archive.eval_index)[i]) + 1,
        best_x=np.asarray(archive.X)[i].tolist(),
        best_design=backend.decode(problem, np.asarray(archive.X)[i])[0],
        best_area_mm2=float(np.asarray(archive.area_mm2)[i]),
        best_energy_j=np.asarray(archive.energy_j)[i].tolist(),
        best_latency_s=np.asarray(archive.latency_s)[i].tolist(),
        best_edap_j_s_mm2=np.asarray(archive.edap)[i].tolist(),
    )
    return out


def merge_optimum(parts: list[dict[str, Any]], backend: Backend, scenario: ScenarioConfig,
                  convention: str, identity: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Combine enumeration slices into the optimum JSON and the baselines JSON."""
    from study.indicators import nondominated_mask

    parts = sorted(parts, key=lambda p: p["part"][0])
    fp = scenario_fingerprint(scenario, convention, identity)
    best = None
    for p in parts:  # first minimum in enumeration order (ties -> lower index)
        if p["best_log10"] is not None and (best is None or p["best_log10"] < best["best_log10"]):
            best = p
    fl = [np.asarray(p["front_log10"], float).reshape(-1, 3) for p in parts]
    fx = [np.asarray(p["front_x"], np.int64).reshape(len(f), -1) for p, f in zip(parts, fl,
                                                                                 strict=True)]
    F = np.vstack(fl) if fl else np.empty((0, 3))
    FX = np.vstack(fx) if fx else np.empty((0, 0), np.int64)
    keep = nondominated_mask(F)
    F, FX = F[keep], FX[keep]
    o = np.lexsort((F[:, 2], F[:, 1], F[:, 0])) if len(F) else np.empty(0, int)
    F, FX = F[o], FX[o]
    n_w = len(parts[0]["workload_best_log10"])
    wbest: list[tuple[float, list[int]] | None] = [None] * n_w
    for p in parts:
        for w in range(n_w):
            v = p["workload_best_log10"][w]
            if v is not None and (wbest[w] is None or v < wbest[w][0]):
                wbest[w] = (v, p["workload_best_x"][w])
    opt: dict[str, Any] = {
        "scenario": scenario.name, "fingerprint": fp,
        "n_designs": int(sum(p["n_designs"] for p in parts)),
        "n_feasible": int(sum(p["n_feasible"] for p in parts)),
        "seconds": float(sum(p["seconds"] for p in parts)),
        "score": None, "x": None, "design": None, "metrics": None,
        "front": (10.0 ** F).tolist(), "front_x": FX.tolist(),
    }
    if best is not None:
        m = backend.metrics(scenario, convention, np.asarray([best["best_x"]]))[0]
        opt.update(score=m["score"], x=best["best_x"], design=m["design"], metrics=m)
    base: dict[str, Any] = {"scenario": scenario.name, "fingerprint": fp,
                            "source": "enumeration", "designs": {}, "specialists": {}}
    names = None
    for w, item in enumerate(wbest):
        if item is None:
            continue
        m = backend.metrics(scenario, convention, np.asarray([item[1]]))[0]
        names = m["workloads"]
        base["specialists"][names[w]] = m
    if names is not None:
        sizes = backend.workload_sizes(scenario, convention)
        largest = names[int(np.argmax(sizes))]
        if largest in base["specialists"]:
            base["largest_workload"] = largest
            base["designs"][f"largest-workload ({largest})"] = base["specialists"][largest]
    return opt, base


# -- executors ------------------------------------------------------------------------------


class _InterruptedError(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers are stopped, finished runs stay on disk."""


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise _InterruptedError(f"signal {signum}")


def default_jobs() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _execute_all(tasks: list[Task], jobs: int, dask: str | None,
                 on_done: Callable[[Task, dict[str, Any]], None]) -> None:
    if not tasks:
        return
    if dask is not None:
        _execute_dask(tasks, dask, jobs, on_done)
    elif jobs <= 1:
        for t in tasks:
            on_done(t, execute_task(t))
    else:
        _execute_pool(tasks, jobs, on_done)


def _worker_init() -> None:
    """Workers leave Ctrl-C / SIGTERM handling to the study process, which terminates them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _execute_pool(tasks: list[Task], jobs: int,
                  on_done: Callable[[Task, dict[str, Any]], None]) -> None:
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    ex = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_worker_init)
    try:
        futures = {ex.submit(execute_task, t): t for t in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for f in done:
                on_done(futures[f], f.result())
    except BaseException:
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # do not leave workers computing for a dead study
            p.terminate()
        raise
    ex.shutdown(wait=True)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImcoptError("--dask needs the optional dependency dask[distributed]: "
                          "pip install 'imcopt[dask]'") from None
    return distributed


def _execute_dask(tasks: list[Task], address: str, jobs: int,
                  on_done: Callable[[Task, dict[str, Any]], None]) -> None:
    distributed = _import_distributed()
    cluster = None
    try:
        if address == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ImcoptError(f"cannot reach Dask scheduler {address!r}: {exc}") from None
        with client:
            run_on_client(client, tasks, on_done)
    finally:
        if cluster is not None:
            import logging

            # workers still importing when the study ends are killed: not worth a warning
            logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
            cluster.close()


def run_on_client(client: Any, tasks: list[Task],
                  on_done: Callable[[Task, dict[str, Any]], None]) -> None:
    """Submit tasks to a `distributed.Client` and handle results as they complete."""
    distributed = _import_distributed()
    futures = {}
    for t in tasks:
        f = client.submit(execute_task, t, pure=False)
        futures[f.key] = (f, t)
    try:
        for f in distributed.as_completed([f for f, _ in futures.values()]):
            on_done(futures[f.key][1], f.result())
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise


# -- the study --------------------------------------------------------------------------------
@dataclass
class StudyPlan:
    """What a study still has to do (and what is already done)."""

    runs: list[RunSpec]
    todo_runs: list[RunSpec]
    todo_parts: list[tuple[ScenarioConfig, tuple[int, int, int, int]]]
    to_merge: list[ScenarioConfig]
    todo_baselines: list[ScenarioConfig]


def plan_study(config: StudyConfig, out: Path, backend: Backend,
               identities: dict[str, str], baselines: bool = True) -> StudyPlan:
    """Every run of the study, and which runs / caches are missing in ``out``."""
    runs = [RunSpec(s, a, seed, config.budget, config.convention, identities[s.name])
            for s in config.scenarios for a in config.algorithms for seed in config.seeds]
    todo = [r for r in runs if not is_finished(r, out)]
    parts, merge, base = [], [], []
    for s in config.scenarios:
        fp = scenario_fingerprint(s, config.convention, identities[s.name])
        if s.exact_optimum:
            if not _cache_ok(out / "optimum" / f"{s.name}.json", fp):
                merge.append(s)
                for part in optimum_parts(backend.space_size(s)):
                    if not _cache_ok(part_path(out, s.name, part[0], part[1]), fp):
                        parts.append((s, part))
        elif baselines and not _cache_ok(out / "baselines" / f"{s.name}.json", fp):
            base.append(s)
    return StudyPlan(runs, todo, parts, merge, base)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _cache_ok(path: Path, fingerprint: str) -> bool:
    data = _read_json(path)
    return data is not None and data.get("fingerprint") == fingerprint


def is_finished(run: RunSpec, out: Path) -> bool:
    """A run is finished when its JSON (written after the archive) matches its definition."""
    npz, js = run.paths(out)
    return npz.is_file() and _cache_ok(js, run.fingerprint())


def clean_partial(out: Path) -> int:
    """Remove temp files a killed study may have left; return how many."""
    n = 0
    found = list(out.glob(".*.tmp*"))
    for sub in ("runs", "optimum", "baselines", "plots"):
        if (out / sub).is_dir():
            found += (out / sub).rglob(".*.tmp*")
    for p in found:
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


def run_study(config: StudyConfig, out: str | Path | None = None, jobs: int | None = None,
              dask: str | None = None, backend: Backend | None = None,
              progress: bool = True, baselines: bool = True, finalize: bool = True,
              plots: bool = True, log: Callable[[str], None] | None = None) -> Path:
    """Run (or resume) a study; write every output into its directory and return it.

    ``jobs``: local worker processes (default: all cores; 1 = serial in this process).
    ``dask``: a scheduler address, or "local" for a `distributed.LocalCluster` of ``jobs``
    workers on 127.0.0.1. Results do not depend on either (each run is seeded on its own).
    """
    if out is not None:
        config = config.with_output(out)
    out = Path(config.output)
    if jobs is not None and (isinstance(jobs, bool) or jobs < 1):
        raise ImcoptError(f"--jobs must be a positive integer, got {jobs}")
    jobs = jobs or default_jobs()
    backend = backend or DEFAULT_BACKEND
    say = log or (lambda msg: None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImcoptError(f"cannot create output directory {str(out)!r}: {exc}") from None
    clean_partial(out)
    identities = {s.name: backend.identity(s, config.convention) for s in config.scenarios}
    atomic_write_json(out / "study.json", {"config": config.to_dict(),
                                           "identities": identities})
    plan = plan_study(config, out, backend, identities, baselines=baselines)
    done = len(plan.runs) - len(plan.todo_runs)
    say(f"study {config.name!r}: {len(plan.runs)} runs ({done} already finished), "
        f"{len(plan.to_merge)} exact optimum(s) to enumerate "
        f"({len(plan.todo_parts)} slices left), output {out}")
    tasks = ([Task("optimum-part", out, backend, scenario=s, convention=config.convention,
                   part=part, identity=identities[s.name]) for s, part in plan.todo_parts]
             + [Task("run", out, backend, run=r) for r in plan.todo_runs]
             + [Task("baselines", out, backend, scenario=s, convention=config.convention,
                     budget=config.budget, identity=identities[s.name])
                for s in plan.todo_baselines])
    t0 = time.perf_counter()
    _run_tasks(tasks, jobs, dask, total=len(plan.runs), initial=done, progress=progress)
    for s in plan.to_merge:
        parts = [_read_json(part_path(out, s.name, k, n))
                 for k, n, _, _ in optimum_parts(backend.space_size(s))]
        if any(p is None for p in parts):
            raise ImcoptError(f"enumeration of scenario {s.name!r} is incomplete")
        opt, base = merge_optimum(parts, backend, s, config.convention, identities[s.name])
        atomic_write_json(out / "optimum" / f"{s.name}.json", opt)
        atomic_write_json(out / "baselines" / f"{s.name}.json", base)
        say(f"exact optimum of {s.name}: {opt['score']} J*s*mm^2 over {opt['n_designs']:,} "
            f"designs ({opt['n_feasible']:,} feasible), Pareto front of {len(opt['front'])}")
    say(f"computed in {time.perf_counter() - t0:.1f} s")
    if finalize:
        from study.report import finalize_study

        finalize_study(out, log=say, plots=plots)
    return out


def _run_tasks(tasks: list[Task], jobs: int, dask: str | None, total: int, initial: int,
               progress: bool) -> None:
    from tqdm import tqdm

    n_parts = sum(t.kind == "optimum-part" for t in tasks)
    bar = tqdm(total=total + n_parts, initial=initial, desc="runs + enumeration slices",
               unit="task", disable=not progress, dynamic_ncols=True)

    def on_done(task: Task, result: dict[str, Any]) -> None:
        if task.kind in ("run", "optimum-part"):
            bar.update(1)
        elif "error" in result:
            bar.write(f"baselines of {task.scenario.name} skipped: {result['error']}")

    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _raise_interrupted) if main else None
    try:
        _execute_all(tasks, jobs, dask, on_done)
    finally:
        if main:
            signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)
        bar.close()


#: the backend `run_study` uses when none is given (tests may replace it in a subprocess)
DEFAULT_BACKEND = Backend()

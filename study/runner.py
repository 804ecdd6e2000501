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
at any moment leaves only complete files (its stray temp files are removed on the next start).
Re-running skips every run and slice whose JSON matches its definition (`study.tasks`) and
whose archive matches its checksum. Each run depends only on its own seed, so results do not
depend on ``jobs`` or Dask. The parts: `study.backend` (scenario -> problem), `study.tasks`
(specs, fingerprints, plan), `study.session` (executing tasks), `study.executors` (serial,
pool, Dask), `study.enumeration` (slices and their merge), `study.outdir` (the directory).

``summary.json``::

    {"scenarios": [{"name", "optimum": score or null,
                    "algorithms": [{"name", "seeds", "median_best", "iqr_best",
                                    "median_gap", "success_rate_5pct"}]}]}

``seeds`` is the number of finished runs; scores in J*s*mm^2; ``median_gap`` is a fraction
(0.03 = 3 % above the optimum) and it and ``success_rate_5pct`` are null without an optimum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.io import atomic_write_json
from study.backend import Backend
from study.config import StudyConfig
from study.enumeration import estimate_seconds, merge_optimum
from study.executors import default_jobs, execute_all
from study.outdir import (
    RECORD_NAME,
    StudyDirectory,
    check_writable,
    clean_partial,
    study_record,
)
from study.session import StudySession, run_batch
from study.tasks import Task, TaskBatch, optimum_parts, part_path, plan_study, read_json

__all__ = ["Backend", "StudySession", "run_study"]

ESTIMATE_ABOVE_S = 60.0  # an enumeration expected to take longer is announced with its ETA


def run_study(config: StudyConfig, out: str | Path | None = None, jobs: int | None = None,
              dask: str | None = None, backend: Backend | None = None,
              progress: bool = True, baselines: bool = True, finalize: bool = True,
              plots: bool = True, log: Callable[[str], None] | None = None,
              force: bool = False) -> Path:
    """Run (or resume) a study; write every output into its directory and return it.

    ``jobs``: local worker processes (default: all cores; 1 = serial in this process).
    ``dask``: a scheduler address, or "local" for a `distributed.LocalCluster` of ``jobs``
    workers on 127.0.0.1. Results do not depend on either (each run is seeded on its own).
    ``backend``: the scenario -> problem adapter (default `Backend()`; tests use fakes).
    The directory is locked for the whole run and must hold this study (`study.outdir`);
    ``force`` moves another study's results aside first.
    """
    if out is not None:
        config = config.with_output(out)
    out = Path(config.output)
    if jobs is not None and (isinstance(jobs, bool) or jobs < 1):
        raise ImcoptError(f"--jobs must be a positive integer, got {jobs}")
    jobs = jobs or default_jobs()
    session = StudySession(backend or Backend())
    say = log or (lambda msg: None)
    identities = {s.name: session.identity(s, config.convention) for s in config.scenarios}
    record = study_record(config, identities)
    directory = StudyDirectory(out)
    directory.claim(record, force=force, say=say)
    try:
        check_writable([out / n for n in (RECORD_NAME, "runs.csv", "best_designs.csv",
                                          "summary.json", "report.md")]
                       + [out / d / RECORD_NAME for d in ("runs", "optimum", "baselines")]
                       + ([out / "plots" / "final_scores.png"] if plots else []))
        n = clean_partial(out)
        if n:
            say(f"removed {n} partial file(s) of an interrupted run")
        atomic_write_json(out / RECORD_NAME, record)
        _execute(config, out, session, identities, jobs, dask, progress, baselines, say,
                 meanwhile=_preload_finalize if finalize else None)
        if finalize:
            from study.report import finalize_study

            finalize_study(out, log=say, plots=plots, backend=session.backend, jobs=jobs)
    finally:
        directory.release()
    return out


def _preload_finalize() -> None:
    """Import the report's modules (scipy.stats, matplotlib: ~2.5 s) while workers compute."""
    import study.exports  # noqa: F401
    import study.plots  # noqa: F401
    import study.report  # noqa: F401


def _execute(config: StudyConfig, out: Path, session: StudySession,
             identities: dict[str, str], jobs: int, dask: str | None, progress: bool,
             baselines: bool, say: Callable[[str], None],
             meanwhile: Callable[[], None] | None = None) -> None:
    """Plan, compute what is missing, merge the enumerations."""
    backend = session.backend
    plan = plan_study(config, out, backend.space_size, identities, baselines=baselines)
    for path, reason in plan.damaged:
        say(f"recomputing {path}: damaged ({reason})")
    done = len(plan.runs) - len(plan.todo_runs)
    say(f"study {config.name!r}: {len(plan.runs)} runs ({done} already finished), "
        f"{len(plan.to_merge)} exact optimum(s) to enumerate "
        f"({len(plan.todo_parts)} slices left), output {out}")
    for s in plan.to_merge:
        left = sum(p[3] - p[2] for sc, p in plan.todo_parts if sc.name == s.name)
        if left:
            eta = estimate_seconds(session, s, config.convention, left, jobs)
            if eta > ESTIMATE_ABOVE_S:
                say(f"enumerating {left:,} designs of scenario {s.name!r}: about "
                    f"{_duration(eta)} on {jobs} worker(s)")
    t0 = time.perf_counter()
    tasks = plan.tasks(out, config, identities)
    _run_tasks(tasks, session, jobs, dask, total=len(plan.runs), initial=done,
               progress=progress, meanwhile=meanwhile)
    for s in plan.to_merge:
        parts = [read_json(part_path(out, s.name, k, n))[0]
                 for k, n, _, _ in optimum_parts(backend.space_size(s))]
        if any(p is None for p in parts):
            raise ImcoptError(f"enumeration of scenario {s.name!r} is incomplete")
        opt, base = merge_optimum(parts, session, s, config.convention, identities[s.name])
        atomic_write_json(out / "optimum" / f"{s.name}.json", opt)
        atomic_write_json(out / "baselines" / f"{s.name}.json", base)
        say(f"exact optimum of {s.name}: {opt['score']} J*s*mm^2 over {opt['n_designs']:,} "
            f"designs ({opt['n_feasible']:,} feasible), Pareto front of {len(opt['front'])}")
    say(f"computed in {time.perf_counter() - t0:.1f} s")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def batches(tasks: list[Task], backend: Any, size: int) -> list[TaskBatch]:
    """Consecutive tasks of one kind and scenario, at most ``size`` per batch (one session)."""
    def group(t: Task) -> tuple[str, str]:
        sc = t.where[0]
        return t.kind, sc.name if sc is not None else ""

    out: list[list[Task]] = []
    for t in tasks:
        if out and len(out[-1]) < size and group(out[-1][0]) == group(t):
            out[-1].append(t)
        else:
            out.append([t])
    return [TaskBatch(backend, tuple(b)) for b in out]


def _run_tasks(tasks: list[Task], session: StudySession, jobs: int, dask: str | None,
               total: int, initial: int, progress: bool,
               meanwhile: Callable[[], None] | None = None) -> None:
    """Execute ``tasks`` (serially, on ``jobs`` local processes or on Dask) with a progress
    bar; ``meanwhile`` runs in this process while local workers compute."""
    from tqdm import tqdm

    n_parts = sum(t.kind == "optimum-part" for t in tasks)
    bar = tqdm(total=total + n_parts, initial=initial, desc="runs + enumeration slices",
               unit="task", disable=not progress, dynamic_ncols=True, mininterval=0.5)

    def on_done(batch: TaskBatch, results: list[dict[str, Any]]) -> None:
        for task, result in zip(batch.tasks, results, strict=True):
            if task.kind in ("run", "optimum-part"):
                bar.update(1)
            elif "error" in result:
                bar.write(f"baselines of {task.scenario.name} skipped: {result['error']}")

    try:
        if dask is None and jobs <= 1:  # in this process: one session for everything
            execute_all(lambda b: session.execute_batch(b.tasks),
                        batches(tasks, session.backend, 1), 1, None, on_done)
        else:  # a fresh session per batch; >= 16 batches per worker keep progress live
            if dask is None:  # forked workers inherit the loaded kernels and modules
                session.warm_up(tasks)
            size = max(1, min(4, len(tasks) // (16 * jobs)))
            execute_all(run_batch, batches(tasks, session.backend, size), jobs, dask, on_done,
                        meanwhile=meanwhile)
    finally:
        bar.close()

"""`imcopt suite`: the benchmark suite (list, show, optima, run, screen, report)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from problems.errors import ImcoptError

DEFAULT_OUT = Path("results/suite/raw")
REPORT_DIR = Path("results/suite")


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ImcoptError(f"{name} must be a positive integer, got {value}")


@click.group()
def suite() -> None:
    """The benchmark suite: instances with exact optima, runs, analytics and report."""


@suite.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--suite-file", type=click.Path(dir_okay=False), default=None,
              help="suite YAML (default configs/suite/instances.yaml)")
def list_cmd(as_json: bool, suite_file: str | None) -> None:
    """List the instances with their size, budget and optimum status."""
    from study.suite.instances import load_suite, optimum_status

    insts = load_suite(suite_file)
    rows = [i.summary() | {"optimum": optimum_status(i)} for i in insts]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(f"{'id':26s} {'conv':9s} {'aggregate':10s} {'form':6s} {'designs':>11s} "
               f"{'budget':>6s}  optimum")
    for r in rows:
        size = f"{r['n_designs']:,}" if r["available"] else "-"
        click.echo(f"{r['id']:26s} {r['convention']:9s} {r.get('aggregate', 'max'):10s} "
                   f"{r.get('objective', 'single'):6s} {size:>11s} {r.get('budget', '-'):>6}  "
                   f"{r['optimum'] if r['available'] else r['unavailable']}")


@suite.command("show")
@click.argument("instance_id")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--suite-file", type=click.Path(dir_okay=False), default=None)
def show_cmd(instance_id: str, as_json: bool, suite_file: str | None) -> None:
    """One instance: definition, budget, exact optimum and whether it is current."""
    from study.suite.instances import load_optimum, load_suite, optimum_status, select

    inst = select(load_suite(suite_file), [instance_id])[0]
    opt = load_optimum(inst) or {}
    d = inst.summary() | {"optimum_status": optimum_status(inst),
                          "optimum_score": opt.get("score"), "optimum_design": opt.get("design"),
                          "front_size": len(opt.get("front") or []),
                          "model_fingerprint": opt.get("model_fingerprint")}
    if as_json:
        click.echo(json.dumps(d, indent=1))
        return
    for k, v in d.items():
        click.echo(f"{k:18s} {v}")
    if d["optimum_status"] == "stale":
        click.echo("the stored optimum is stale (model, space, workloads or definition "
                   "changed): run 'imcopt suite optima'")


@suite.command("optima")
@click.option("--ids", default=None, help="comma-separated instance ids (default: all)")
@click.option("--jobs", type=int, default=None, help="worker processes (default: all cores)")
@click.option("--force", is_flag=True, help="recompute even if the stored optimum is current")
@click.option("--suite-file", type=click.Path(dir_okay=False), default=None)
def optima_cmd(ids: str | None, jobs: int | None, force: bool, suite_file: str | None) -> None:
    """(Re)compute the exact optima by enumeration; only missing or stale ones by default."""
    from study.suite.instances import compute_optima, load_suite, select

    _positive("--jobs", jobs)
    insts = select(load_suite(suite_file), _split(ids))
    t0 = time.perf_counter()
    compute_optima(insts, jobs=jobs, force=force, log=click.echo)
    click.echo(f"optima done in {time.perf_counter() - t0:.0f} s")


def _run(ids: str | None, algorithms: str | None, seeds: int, first_seed: int, out: str,
         jobs: int | None, suite_file: str | None, default_algs: tuple[str, ...]) -> None:
    from study.suite.instances import load_suite, select
    from study.suite.runs import run_suite

    _positive("--seeds", seeds)
    _positive("--jobs", jobs)
    if first_seed < 0:
        raise ImcoptError(f"--first-seed must be non-negative, got {first_seed}")
    insts = select(load_suite(suite_file), _split(ids))
    algs = _split(algorithms) or list(default_algs)
    t0 = time.perf_counter()
    run_suite(insts, algs, list(range(first_seed, first_seed + seeds)), Path(out), jobs=jobs,
              log=click.echo)
    click.echo(f"suite run done in {time.perf_counter() - t0:.0f} s ({len(insts)} instances, "
               f"{len(algs)} algorithms, {seeds} seeds) -> {out}")


@suite.command("run")
@click.option("--seeds", type=int, default=20, show_default=True, help="seeds per run")
@click.option("--first-seed", type=int, default=0, show_default=True,
              help="seeds first..first+N-1 (tune on 1000+, report on 0..)")
@click.option("--algorithms", default=None, help="comma-separated registry names")
@click.option("--ids", default=None, help="comma-separated instance ids (default: all)")
@click.option("--out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT),
              show_default=True)
@click.option("--jobs", type=int, default=None, help="worker processes (default: all cores)")
@click.option("--suite-file", type=click.Path(dir_okay=False), default=None)
def run_cmd(seeds: int, first_seed: int, algorithms: str | None, ids: str | None, out: str,
            jobs: int | None, suite_file: str | None) -> None:
    """Run algorithms x seeds on every instance at its budget (resumable)."""
    from study.suite.runs import DEFAULT_ALGORITHMS

    _run(ids, algorithms, seeds, first_seed, out, jobs, suite_file, DEFAULT_ALGORITHMS)


@suite.command("screen")
@click.option("--seeds", type=int, default=10, show_default=True)
@click.option("--ids", default=None)
@click.option("--out", type=click.Path(file_okay=False), default="results/suite/screen",
              show_default=True)
@click.option("--jobs", type=int, default=None)
@click.option("--suite-file", type=click.Path(dir_okay=False), default=None)
def screen_cmd(seeds: int, ids: str | None, out: str, jobs: int | None,
               suite_file: str | None) -> None:
    """Hardness screen with random-search and ga only (seeds 2000+)."""
    from study.suite.runs import SCREEN_ALGORITHMS, SCREEN_FIRST_SEED

    _run(ids, None, seeds, SCREEN_FIRST_SEED, out, jobs, suite_file, SCREEN_ALGORITHMS)


@suite.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=str(REPORT_DIR),
              show_default=True, help="where REPORT.md, summary.json and figures/ go")
@click.option("--notes", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Markdown file inserted after the title (method, timings)")
def report_cmd(run_dir: str, out: str, notes: str | None) -> None:
    """Analyse a suite run: ECDFs, ERT, profile, CD diagram, EAF, IOHprofiler export."""
    from study.suite.report import write_report

    if not Path(run_dir).is_dir():
        raise ImcoptError(f"{run_dir}: no such suite run directory")
    text = Path(notes).read_text() if notes else ""
    path = write_report(Path(run_dir), Path(out), notes=text)
    click.echo(f"wrote {path}")

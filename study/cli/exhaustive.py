"""`imcopt exhaustive`: the exact optimum of a search space by enumeration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from problems.errors import ImcoptError
from problems.hardware.cost import CONVENTIONS, DEFAULT_CONVENTION
from problems.io import OutputError, check_writable
from problems.objectives import AGGREGATES, ObjectiveConfig, describe
from study.cli.workloads import load_cli_workloads, onnx_options

if TYPE_CHECKING:
    from problems.exhaustive import ExhaustiveResult
    from problems.spaces import SearchSpace


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise ImcoptError(f"--{name} must be a positive integer, got {value}")
    return value


def _fmt_design(d: dict[str, object] | None) -> str:
    if d is None:
        return "-"
    keys = ("memory", "technology_nm", "voltage_v", "bits_per_cell", "cycle_time_s",
            "xbar_rows", "xbar_cols", "router_groups", "tiles_per_group", "macros_per_tile",
            "glb_bytes")
    return " ".join(f"{k}={d[k]:g}" if isinstance(d[k], float) else f"{k}={d[k]}"
                    for k in keys if k in d)


def front_records(res: ExhaustiveResult, space: SearchSpace) -> list[dict[str, object]]:
    """The exact Pareto front (aggregated E, aggregated L, area in mm²: the CLI objective has
    no fabrication cost) as design records `imcopt evaluate --design FILE --pick front:K`
    accepts."""
    if res.front_x.shape[0] == 0:
        return []
    designs = space.decode(res.front_x).to_records()
    front = res.front
    return [{"design": d, "energy_agg_j": float(f[0]), "latency_agg_s": float(f[1]),
             "area_mm2": float(f[2])} for d, f in zip(designs, front, strict=True)]


@click.command("exhaustive")
@click.option("--space", "space_name", required=True,
              help="built-in space name (configs/spaces/NAME.yaml) or a YAML path")
@click.option("--workloads", "workload_spec", required=True,
              help="workload set, zoo names or files, e.g. paper-4 or resnet18,vgg16")
@onnx_options
@click.option("--aggregate", type=str, default="max", show_default=True,
              help=f"one of {', '.join(AGGREGATES)}")
@click.option("--convention", type=str, default=DEFAULT_CONVENTION, show_default=True,
              help=f"cost accounting: {', '.join(CONVENTIONS)}")
@click.option("--top-k", "top_k", type=int, default=10, show_default=True)
@click.option("--chunk", type=int, default=200_000, show_default=True,
              help="designs per enumeration chunk (memory bound)")
@click.option("--json", "json_out", type=click.Path(path_type=Path),
              default=None, help="write the result summary to this JSON file (atomic)")
@click.option("--weights", type=str, default=None,
              help="comma-separated per-workload weights (for --aggregate weighted)")
@click.option("--no-progress", is_flag=True, default=False, help="hide the progress bar")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="processes (contiguous slices of the enumeration, merged exactly)")
@click.option("--method", type=str, default="auto", show_default=True,
              help="bound: branch and bound over structure blocks (the same exact result, "
                   "most designs never evaluated); enumerate: evaluate every design; auto: "
                   "bound where the convention and objective allow it")
def exhaustive(space_name: str, workload_spec: str, onnx_dims: tuple[str, ...],
               onnx_skip_unsupported: bool, aggregate: str, convention: str,
               top_k: int, chunk: int, json_out: Path | None, weights: str | None,
               no_progress: bool, jobs: int, method: str) -> None:
    """Enumerate every design of a space; print the optimum, the top-k and the front size."""
    from problems.exhaustive import METHODS, exhaustive_parallel
    from problems.spaces import SearchSpace
    from problems.specialists import cache_dir, store_specialists, write_json_atomic

    if json_out is not None:
        check_writable(json_out)  # before the enumeration, not after it

    if aggregate not in AGGREGATES:
        raise ImcoptError(f"--aggregate {aggregate!r}; allowed: {', '.join(AGGREGATES)}")
    if convention not in CONVENTIONS:
        raise ImcoptError(f"--convention {convention!r}; allowed: {', '.join(CONVENTIONS)}")
    if method not in METHODS:
        raise ImcoptError(f"--method {method!r}; allowed: {', '.join(METHODS)}")
    _positive("top-k", top_k)
    _positive("chunk", chunk)
    _positive("jobs", jobs)
    w: tuple[float, ...] | None = None
    if weights is not None:
        try:
            w = tuple(float(x) for x in weights.split(","))
        except ValueError as exc:
            raise ImcoptError(f"--weights {weights!r}: expected comma-separated numbers") from exc
    space = SearchSpace.load(space_name)
    workloads = load_cli_workloads(workload_spec, onnx_dims, onnx_skip_unsupported)
    objective = ObjectiveConfig(kind="single", aggregate=aggregate, weights=w)
    objective.check_workloads(len(workloads))
    cache_ok = True
    try:
        check_writable(cache_dir() / "specialists" / "specialists.json")
    except OutputError as exc:
        cache_ok = False
        click.echo(f"warning: {exc}; the workload specialists will not be cached", err=True)
    click.echo(f"space {space.name}: {space.size:,} designs; workloads "
               f"{', '.join(x.name for x in workloads)}; objective {describe(objective)}; "
               f"convention {convention}")
    spec_edap = None
    if aggregate == "normalized":  # each workload's optimum alone (needs the cache)
        from problems.specialists import specialist_edap

        spec_edap = specialist_edap(space, workloads, objective, convention, chunk=chunk,
                                    progress=not no_progress)
    res = exhaustive_parallel(space, workloads, objective, convention, top_k=top_k,
                              chunk=chunk, jobs=jobs, progress=not no_progress,
                              specialist_edap=spec_edap, method=method)
    rate = res.n_designs / res.seconds if res.seconds > 0 else float("inf")
    how = ("" if res.n_evaluated is None or res.n_evaluated == res.n_designs else
           f" (branch and bound: {res.n_evaluated:,} evaluated, the rest pruned by bounds)")
    click.echo(f"searched {res.n_designs:,} designs in {res.seconds:.1f} s "
               f"({rate:,.0f} designs/s){how}; feasible {res.n_feasible:,}")
    if res.best_design is None:
        click.echo("no feasible design")
    else:
        click.echo(f"optimum score {res.best_score:.6g}: {_fmt_design(res.best_design)}")
        click.echo(f"top {len(res.top_designs)}:")
        for i, (s, d) in enumerate(zip(res.top_scores, res.top_designs, strict=True), 1):
            click.echo(f"  {i:>3}  {s:.6g}  {_fmt_design(d)}")
    click.echo(f"Pareto front (aggregated E, aggregated L, A): {res.front_x.shape[0]} designs")
    spec = None
    if cache_ok:
        try:
            spec = store_specialists(res, space, workloads, objective, convention)
        except OutputError as exc:  # a cache is optional: the result is still printed/written
            click.echo(f"warning: {exc}; the workload specialists were not cached", err=True)
    if spec is not None:
        click.echo("workload specialists (cached): " + "; ".join(
            f"{n} {v:.4g}" for n, v in zip(spec.workload_names, spec.edap, strict=True)))
    if json_out is not None:
        data = {
            "space": space.name,
            "workloads": [x.name for x in workloads],
            "aggregate": aggregate,
            "convention": convention,
            "n_designs": res.n_designs,
            "n_feasible": res.n_feasible,
            "n_evaluated": res.n_evaluated,
            "seconds": res.seconds,
            "best": {"design": res.best_design,
                     "score": float(res.best_score) if np.isfinite(res.best_score) else None},
            "top": [{"design": d, "score": float(s)}
                    for s, d in zip(res.top_scores, res.top_designs, strict=True)],
            "front_size": int(res.front_x.shape[0]),
            "front": front_records(res, space),
        }
        write_json_atomic(json_out, data)
        click.echo(f"wrote {json_out}")

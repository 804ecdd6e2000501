"""`imcopt validate`: score the cimloop cost model against stored CiMLoop results."""

from __future__ import annotations

import math
from pathlib import Path

import click

from problems.errors import ImcoptError
from problems.hardware.validation import validate as run_validation
from problems.io import atomic_write_json, check_writable
from problems.reference import reference_dir


def _default(name: str) -> Path | None:
    ref = reference_dir()
    return None if ref is None else ref / name


def _fmt(x: float, spec: str) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


@click.command("validate")
@click.option("--reference", "reference", type=click.Path(path_type=Path), default=None,
              help="CiMLoop results CSV (default: cimloop_results.csv in the reference dir).")
@click.option("--layers", "layers", type=click.Path(path_type=Path), default=None,
              help="Layer-shape CSV (default: cimloop_layers.csv in the reference dir).")
@click.option("--average-inputs", "average_inputs", type=click.Path(path_type=Path),
              default=None,
              help="Per-layer input-activity CSV of your networks, written from their CiMLoop "
                   "workload YAMLs by scripts/cimloop_average_inputs.py (default: built-in "
                   "table; other networks use 0.5).")
@click.option("--json", "json_out", type=click.Path(path_type=Path),
              default=None,
              help="Also write the metrics as JSON to this file.")
def validate(reference: Path | None, layers: Path | None, average_inputs: Path | None,
             json_out: Path | None) -> None:
    """Evaluate the cimloop cost model at every reference row and print agreement metrics."""
    if json_out is not None:
        check_writable(json_out)  # before the (long) validation run
    reference = reference or _default("cimloop_results.csv")
    layers = layers or _default("cimloop_layers.csv")
    if reference is None or layers is None:
        raise ImcoptError("no reference data found: pass --reference and --layers "
                          "(or set IMCOPT_REFERENCE)")
    if average_inputs is not None and not average_inputs.is_file():
        raise ImcoptError(f"--average-inputs: file {average_inputs} does not exist")
    report = run_validation(reference, layers, average_inputs=average_inputs)
    click.echo(f"{'memory':6} {'network':20} {'n':>5} {'rho_EDAP':>8} | {'rho_E':>7} "
               f"{'mae_E':>7} | {'rho_L':>7} {'mae_L':>7} | {'rho_A':>7} {'mae_A':>8}")
    for g in report["groups"]:
        click.echo(
            f"{g['memory']:6} {g['network']:20} {g['n']:5d} {_fmt(g['rho_edap'], '8.4f')} | "
            f"{_fmt(g['rho_energy'], '7.4f')} {_fmt(g['mae_log10_energy'], '7.4f')} | "
            f"{_fmt(g['rho_latency'], '7.4f')} {_fmt(g['mae_log10_latency'], '7.4f')} | "
            f"{_fmt(g['rho_area'], '7.4f')} {_fmt(g['mae_log10_area'], '8.2e')}")
    click.echo("\n(mae = median |log10(model / reference)|)\n")
    click.echo(f"{'memory':6} {'experiment':45} {'designs':>7} {'regret':>8}")
    for r in report["regret"]:
        click.echo(f"{r['memory']:6} {r['experiment']:45} {r['n_designs']:7d} "
                   f"{_fmt(r['regret'], '8.4f')}")
    if json_out is not None:
        payload = {
            "groups": [{k: g[k] for k in ("memory", "network", "n", "rho_edap", "rho_energy",
                                          "rho_latency", "rho_area", "mae_log10_energy",
                                          "mae_log10_latency", "mae_log10_area")}
                       for g in report["groups"]],
            "regret": [{k: r[k] for k in ("memory", "experiment", "regret")}
                       for r in report["regret"]],
        }
        atomic_write_json(json_out, payload)
        click.echo(f"\nwrote {json_out}")

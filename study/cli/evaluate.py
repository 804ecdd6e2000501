"""`imcopt evaluate`: cost of ONE design on a set of workloads, with breakdowns."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from problems.errors import ImcoptError
from problems.hardware.cost import CONVENTIONS, DEFAULT_CONVENTION
from problems.hardware.cost import evaluate as evaluate_cost
from problems.hardware.design import PARAMETERS, DesignBatch
from problems.hardware.result import CostResult
from problems.io import read_yaml


def _design_options(f):
    """One `--param` option per design parameter (generated from PARAMETERS)."""
    for name, (default, (lo, hi), unit) in reversed(list(PARAMETERS.items())):
        kind = str if name == "memory" else float
        f = click.option(f"--{name.replace('_', '-')}", name, type=kind, default=None,
                         help=f"{unit}; range [{lo:g}, {hi:g}]; default {default}")(f)
    return f


def load_design_file(path: Path) -> dict[str, object]:
    """Design parameters from a YAML file (a mapping, optionally under a `design:` key)."""
    data = read_yaml(path, "design file")
    if isinstance(data, dict) and isinstance(data.get("design"), dict):
        data = data["design"]
    if not isinstance(data, dict):
        raise ImcoptError(f"{path}: a design file must be a mapping of parameter: value")
    return data


def result_records(res: CostResult, index: int = 0) -> list[dict[str, object]]:
    """Per-workload metrics of design `index` as plain dicts (unit-suffixed keys)."""
    rows = []
    for w, name in enumerate(res.workloads):
        row: dict[str, object] = {
            "workload": name,
            "energy_j": float(res.energy_j[index, w]),
            "latency_s": float(res.latency_s[index, w]),
            "area_mm2": float(res.area_mm2[index]),
            "edap_j_s_mm2": float(res.edap[index, w]),
            "utilisation": float(res.utilisation[index, w]),
            "weights_resident": bool(res.weights_resident[index, w]),
            "valid": bool(res.valid[index, w]),
        }
        if res.energy_breakdown_j:
            row["energy_breakdown_j"] = {k: float(v[index, w])
                                         for k, v in res.energy_breakdown_j.items()}
        if res.latency_breakdown_s:
            row["latency_breakdown_s"] = {k: float(v[index, w])
                                          for k, v in res.latency_breakdown_s.items()}
        rows.append(row)
    return rows


def plot_breakdowns(res: CostResult, path: Path) -> None:
    """Stacked bars: energy breakdown per workload (left) and area breakdown (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_a) = plt.subplots(1, 2, figsize=(11, 4.5),
                                     gridspec_kw={"width_ratios": [3, 1]})
    names = list(res.workloads)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for comp, val in (res.energy_breakdown_j or {"total": res.energy_j}).items():
        v = val[0] * 1e3
        ax_e.bar(x, v, bottom=bottom, label=comp)
        bottom += v
    ax_e.set_xticks(x, names, rotation=30, ha="right")
    ax_e.set_ylabel("energy per inference (mJ)")
    ax_e.set_title(f"Energy breakdown ({res.convention})")
    ax_e.legend(fontsize=7, ncol=2)
    bottom_a = 0.0
    for comp, val in (res.area_breakdown_mm2 or {"total": res.area_mm2}).items():
        ax_a.bar([0], [val[0]], bottom=bottom_a, label=comp)
        bottom_a += float(val[0])
    ax_a.set_xticks([0], ["chip"])
    ax_a.set_ylabel("area (mm²)")
    ax_a.set_title("Area breakdown")
    ax_a.legend(fontsize=7)
    fig.tight_layout()
    tmp = Path(path).with_name(Path(path).name + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)


@click.command("evaluate")
@click.option("--design", "design_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML file with design parameters (flags override it).")
@_design_options
@click.option("--workloads", "-w", default="paper-4", show_default=True,
              help="Zoo name, set name, path, or comma-separated list.")
@click.option("--convention", type=click.Choice(CONVENTIONS), default=DEFAULT_CONVENTION,
              show_default=True, help="Accounting convention.")
@click.option("--json", "json_out", is_flag=True, help="Print JSON instead of tables.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write stacked bars of the energy and area breakdowns to this PNG.")
def evaluate(design_file: Path | None, workloads: str, convention: str, json_out: bool,
             plot_path: Path | None, **params: object) -> None:
    """Evaluate one design: per workload E, L, A, EDAP and the breakdowns."""
    from problems.workloads import load_workloads

    values = load_design_file(design_file) if design_file else {}
    values.update({k: v for k, v in params.items() if v is not None})
    for k in ("bits_per_cell", "xbar_rows", "xbar_cols", "adc_bits", "adcs_per_macro",
              "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes"):
        if k in values and isinstance(values[k], float):
            if values[k] != int(values[k]):
                raise ImcoptError(f"design parameter {k} = {values[k]} must be an integer")
            values[k] = int(values[k])
    design = DesignBatch.from_dict(values)
    if len(design) != 1:
        raise ImcoptError("imcopt evaluate takes exactly one design")
    res = evaluate_cost(design, load_workloads(workloads), convention=convention, breakdown=True)
    if plot_path:
        plot_breakdowns(res, plot_path)
    records = result_records(res)
    payload = {"convention": convention, "design": design.to_records()[0],
               "area_mm2": float(res.area_mm2[0]),
               "area_breakdown_mm2": {k: float(v[0]) for k, v in
                                      (res.area_breakdown_mm2 or {}).items()},
               "workloads": records}
    if json_out:
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"design ({convention} convention): "
               + ", ".join(f"{k}={v}" for k, v in payload["design"].items()))
    click.echo(f"area: {payload['area_mm2']:.4g} mm²")
    for k, v in payload["area_breakdown_mm2"].items():
        click.echo(f"  {k:<24} {v:12.4g} mm²")
    click.echo(f"\n{'workload':<20}{'energy_j':>12}{'latency_s':>12}{'edap_j_s_mm2':>14}"
               f"{'util':>7}  resident")
    for r in records:
        click.echo(f"{r['workload']:<20}{r['energy_j']:12.4g}{r['latency_s']:12.4g}"
                   f"{r['edap_j_s_mm2']:14.4g}{r['utilisation']:7.2f}  {r['weights_resident']}")
    for r in records:
        if "energy_breakdown_j" in r:
            click.echo(f"\nenergy breakdown, {r['workload']} (J):")
            for k, v in r["energy_breakdown_j"].items():
                click.echo(f"  {k:<24} {v:12.4g}")
    if plot_path:
        click.echo(f"\nwrote {plot_path}")



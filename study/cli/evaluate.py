"""`imcopt evaluate`: cost of ONE design on a set of workloads, with breakdowns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np

from problems.errors import ImcoptError, short
from problems.hardware.cost import CONVENTIONS, DEFAULT_CONVENTION
from problems.hardware.cost import evaluate as evaluate_cost
from problems.hardware.design import INT_PARAMS, MEMORY_TYPES, PARAMETERS, DesignBatch
from problems.hardware.result import CostResult
from problems.hardware.snr import ADC_RANGES, SNRConfig, evaluate_snr
from problems.io import atomic_write_figure, check_writable, read_yaml
from study.cli.workloads import load_cli_workloads, onnx_options


class DesignValue(click.ParamType):
    """A design-parameter flag: integer, finite float or memory type. A bad value is an
    ImcoptError (one ``Error:`` line, exit 2) naming the parameter; ranges and rules are
    DesignBatch's (checked once, for flags and design files alike)."""

    def __init__(self, param: str) -> None:
        self.param = param
        self.name = ("RRAM|SRAM" if param == "memory" else
                     "INTEGER" if param in INT_PARAMS else "FLOAT")

    def convert(self, value: object, param: object, ctx: object) -> object:
        text = str(value).strip()
        where = f"--{self.param.replace('_', '-')} {short(text)}: design parameter {self.param}"
        if self.param == "memory":
            if text.upper() not in MEMORY_TYPES:
                raise ImcoptError(f"{where}: unknown memory type; allowed: {list(MEMORY_TYPES)}")
            return text.upper()
        try:
            number = float(text)
        except ValueError:
            raise ImcoptError(f"{where} is not a number") from None
        if not math.isfinite(number):
            raise ImcoptError(f"{where} must be finite")
        if self.param in INT_PARAMS:
            if number != round(number):
                raise ImcoptError(f"{where} must be an integer")
            return int(number)
        return number


def _design_options(f):
    """One `--param` option per design parameter (generated from PARAMETERS)."""
    for name, (default, (lo, hi), unit) in reversed(list(PARAMETERS.items())):
        if name == "memory":
            text = f"memory technology: {' or '.join(MEMORY_TYPES)}; default {default}"
        elif name in INT_PARAMS:
            text = f"{unit}; range [{int(lo)}, {int(hi)}]; default {default}"
        else:
            text = f"{unit}; range [{lo:g}, {hi:g}]; default {default:g}"
        f = click.option(f"--{name.replace('_', '-')}", name, type=DesignValue(name),
                         default=None, help=text)(f)
    return f


#: --pick choices for a result file of `imcopt exhaustive --json`
PICK_HELP = "best (default), top:K or front:K (1-based) when --design is an exhaustive --json file"


def load_design_file(path: Path, pick: str | None = None) -> dict[str, object]:
    """Design parameters from a YAML/JSON file: a mapping, optionally under a `design:` key,
    or an `imcopt exhaustive --json` result (its best design, or ``pick``)."""
    data = read_yaml(path, "design file")
    if isinstance(data, dict) and isinstance(data.get("best"), dict) and "top" in data:
        data = _pick_result_design(data, path, pick or "best")
    elif pick is not None:
        raise ImcoptError(f"--pick {short(pick)}: {path} is not an imcopt exhaustive --json "
                          f"result")
    elif isinstance(data, dict) and isinstance(data.get("design"), dict):
        data = data["design"]
    if not isinstance(data, dict):
        raise ImcoptError(f"design file {path}: a design file must be a mapping of "
                          f"parameter: value")
    return dict(data)


def _pick_result_design(data: dict, path: Path, pick: str) -> object:
    kind, _, k = pick.partition(":")
    if kind == "best" and not k:
        design = data["best"].get("design")
        if design is None:
            raise ImcoptError(f"design file {path}: the result has no feasible best design")
        return design
    if kind in ("top", "front") and k.isdigit() and int(k) >= 1:
        entries = data.get(kind)
        if not isinstance(entries, list):
            raise ImcoptError(f"--pick {short(pick)}: {path} has no '{kind}' list")
        if int(k) > len(entries):
            raise ImcoptError(f"--pick {short(pick)}: {path} lists {len(entries)} {kind} "
                              f"designs")
        entry = entries[int(k) - 1]
        return entry.get("design") if isinstance(entry, dict) else entry
    raise ImcoptError(f"--pick {short(pick)}: expected {PICK_HELP}")


#: operations per MAC (a multiply and an add), the usual TOPS convention
OPS_PER_MAC = 2


def result_records(res: CostResult, macs: list[int] | None = None,
                   index: int = 0) -> list[dict[str, object]]:
    """Per-workload metrics of design `index` as plain dicts (unit-suffixed keys).

    With ``macs`` (per workload) also throughput and efficiency: ``tops_per_w`` (tera-ops
    per joule), ``tops_per_mm2`` (tera-ops per second per mm²) and ``power_w`` (E / L),
    counting OPS_PER_MAC operations per MAC."""
    rows = []
    area = float(res.area_mm2[index])
    for w, name in enumerate(res.workloads):
        energy, latency = float(res.energy_j[index, w]), float(res.latency_s[index, w])
        row: dict[str, object] = {
            "workload": name,
            "energy_j": energy,
            "latency_s": latency,
            "area_mm2": area,
            "edap_j_s_mm2": float(res.edap[index, w]),
            "utilisation": float(res.utilisation[index, w]),
            "weights_resident": bool(res.weights_resident[index, w]),
            "valid": bool(res.valid[index, w]),
        }
        if macs is not None:
            ops = OPS_PER_MAC * float(macs[w])
            with np.errstate(divide="ignore", invalid="ignore"):
                row["ops"] = ops
                row["power_w"] = float(np.divide(energy, latency))
                row["tops_per_w"] = float(np.divide(ops, energy)) / 1e12
                row["tops_per_mm2"] = float(np.divide(ops, latency * area)) / 1e12
        if res.energy_breakdown_j:
            row["energy_breakdown_j"] = {k: float(v[index, w])
                                         for k, v in res.energy_breakdown_j.items()}
        if res.latency_breakdown_s:
            row["latency_breakdown_s"] = {k: float(v[index, w])
                                          for k, v in res.latency_breakdown_s.items()}
        rows.append(row)
    return rows


#: figure formats `--plot` writes (by file suffix)
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def check_plot_path(path: Path) -> None:
    """Refuse a bad --plot target before anything is computed."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ImcoptError(f"--plot {path}: unsupported file type {short(path.suffix or '')}; "
                          f"allowed: {', '.join(PLOT_SUFFIXES)}")
    check_writable(path)


def plot_breakdowns(res: CostResult, path: Path) -> None:
    """Stacked bars: energy breakdown per workload (left) and area breakdown (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_a) = plt.subplots(1, 2, figsize=(11, 4.5),
                                     gridspec_kw={"width_ratios": [3, 1]})
    try:
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
        atomic_write_figure(path, fig, dpi=120)
    finally:
        plt.close(fig)


@click.command("evaluate")
@click.option("--design", "design_file", type=click.Path(path_type=Path),
              help="YAML/JSON design file, or an `imcopt exhaustive --json` result (flags "
                   "override it).")
@click.option("--pick", default=None, help=PICK_HELP)
@_design_options
@click.option("--workloads", "-w", default="paper-4", show_default=True,
              help="Zoo name, set name, path, or comma-separated list.")
@onnx_options
@click.option("--convention", type=click.Choice(CONVENTIONS), default=DEFAULT_CONVENTION,
              show_default=True, help="Accounting convention.")
@click.option("--space", "space_name", default=None,
              help="Also say whether the design is a feasible point of this search space "
                   "(built-in name or YAML path).")
@click.option("--area-budget", "area_budget", type=float, default=None,
              help="Area budget in mm² for the feasibility verdict (default: the studies' "
                   "default budget).")
@click.option("--json", "json_out", is_flag=True, help="Print JSON instead of tables.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="Write stacked bars of the energy and area breakdowns to this PNG "
                   "(or .pdf/.svg).")
@click.option("--snr-adc-range", type=click.Choice(ADC_RANGES), default="full-range",
              show_default=True, help="ADC range policy of the compute-SNR model.")
@click.option("--snr-layers", is_flag=True, help="Also give the SNR of every layer.")
def evaluate(design_file: Path | None, pick: str | None, workloads: str,
             onnx_dims: tuple[str, ...], onnx_skip_unsupported: bool, convention: str,
             space_name: str | None, area_budget: float | None, json_out: bool,
             plot_path: Path | None, snr_adc_range: str, snr_layers: bool,
             **params: object) -> None:
    """Evaluate one design: per workload E, L, A, EDAP, TOPS/W, TOPS/mm², power and the
    breakdowns; with --space / --area-budget also whether it is feasible and why not."""
    if plot_path:
        check_plot_path(plot_path)
    if area_budget is not None and not (math.isfinite(area_budget) and area_budget > 0):
        raise ImcoptError(f"--area-budget {area_budget}: must be a positive finite number of "
                          f"mm²")
    if pick is not None and design_file is None:
        raise ImcoptError("--pick needs --design FILE (an exhaustive --json result)")
    values = load_design_file(design_file, pick) if design_file else {}
    values.update({k: v for k, v in params.items() if v is not None})
    design = DesignBatch.from_dict(values)
    if len(design) != 1:
        raise ImcoptError("imcopt evaluate takes exactly one design")
    space = None
    if space_name is not None:
        from problems.spaces import SearchSpace

        space = SearchSpace.load(space_name)
    loaded = load_cli_workloads(workloads, onnx_dims, onnx_skip_unsupported)
    res = evaluate_cost(design, loaded, convention=convention, breakdown=True)
    verdict = None
    if space is not None or area_budget is not None:
        from problems.feasibility import check_feasibility

        verdict = check_feasibility(design, loaded, convention, res, area_budget, space)
    if plot_path:
        plot_breakdowns(res, plot_path)
    records = result_records(res, [w.total_macs for w in loaded])
    payload = {"convention": convention, "design": design.to_records()[0],
               "area_mm2": float(res.area_mm2[0]),
               "area_breakdown_mm2": {k: float(v[0]) for k, v in
                                      (res.area_breakdown_mm2 or {}).items()},
               "workloads": records}
    if verdict is not None:
        payload["feasibility"] = verdict.to_dict()
    snr_text = add_snr(payload, design, loaded, snr_adc_range, snr_layers)
    if json_out:
        click.echo(json.dumps(payload, indent=2))
        return
    _print_tables(payload, convention)
    click.echo(snr_text)
    if plot_path:
        click.echo(f"\nwrote {plot_path}")


def _print_tables(payload: dict, convention: str) -> None:
    records = payload["workloads"]
    click.echo(f"design ({convention} convention): "
               + ", ".join(f"{k}={v}" for k, v in payload["design"].items()))
    click.echo(f"area: {payload['area_mm2']:.4g} mm²")
    for k, v in payload["area_breakdown_mm2"].items():
        click.echo(f"  {k:<24} {v:12.4g} mm²")
    click.echo(f"\n{'workload':<20}{'energy_j':>12}{'latency_s':>12}{'edap_j_s_mm2':>14}"
               f"{'power_w':>11}{'tops_per_w':>12}{'tops_per_mm2':>14}{'util':>7}  resident")
    for r in records:
        click.echo(f"{r['workload']:<20}{r['energy_j']:12.4g}{r['latency_s']:12.4g}"
                   f"{r['edap_j_s_mm2']:14.4g}{r['power_w']:11.4g}{r['tops_per_w']:12.4g}"
                   f"{r['tops_per_mm2']:14.4g}{r['utilisation']:7.2f}  {r['weights_resident']}")
    click.echo(f"(ops = {OPS_PER_MAC} x MACs; power_w = energy_j / latency_s)")
    for key, unit in (("energy_breakdown_j", "J"), ("latency_breakdown_s", "s")):
        for r in records:
            if key in r:
                click.echo(f"\n{key.split('_')[0]} breakdown, {r['workload']} ({unit}):")
                for k, v in r[key].items():
                    click.echo(f"  {k:<24} {v:12.4g}")
    verdict = payload.get("feasibility")
    if verdict is not None:
        where = f" in space {verdict['space']}" if verdict["space"] else ""
        head = (f"\nfeasible{where} (area budget {verdict['area_budget_mm2']:g} mm²): "
                f"{'yes' if verdict['feasible'] else 'no'}")
        click.echo(head)
        for reason in verdict["reasons"]:
            click.echo(f"  - {reason}")


def _finite_or_none(x: float) -> float | None:
    """JSON-safe SNR: a lossless, noise-free chain (inf dB) becomes null."""
    return float(x) if np.isfinite(x) else None


def add_snr(payload: dict, design: DesignBatch, workloads: list, adc_range: str,
            layers: bool) -> str:
    """Add ``snr_db`` (and ``layers`` with ``layer_snr_db``) to each workload record of the
    payload (problems/hardware/snr.py, worst-layer aggregate); return the text block."""
    from problems.workloads.stack import WorkloadStack

    stack = WorkloadStack.of(workloads)
    cfg = SNRConfig(adc_range=adc_range)
    r = evaluate_snr(design, stack, cfg, layers=layers)
    payload["snr_model"] = {"adc_range": adc_range, "aggregate": cfg.aggregate}
    lines = [f"\noutput SNR ({adc_range} ADC, worst layer):"]
    for w, rec in enumerate(payload["workloads"]):
        rec["snr_db"] = _finite_or_none(r.snr_db[0, w])
        lines.append(f"  {rec['workload']:<24} {r.snr_db[0, w]:8.2f} dB")
        if layers:
            sel = np.flatnonzero(stack.workload_index == w)
            names = stack.workloads[w].layer_names
            rec["layers"] = [{"layer": n, "layer_snr_db": _finite_or_none(r.layer_snr_db[0, i])}
                             for n, i in zip(names, sel, strict=True)]
            lines += [f"    {n:<22} {r.layer_snr_db[0, i]:8.2f} dB"
                      for n, i in zip(names, sel, strict=True)]
    return "\n".join(lines)

"""`imcopt workloads`: list the built-in zoo and show workload layer tables."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence

import click

from problems.errors import ImcoptError, short
from problems.workloads.layers import Workload
from problems.workloads.onnx_import import DroppedLayersWarning
from problems.workloads.resolve import load_workloads
from problems.workloads.zoo import SETS, ZOO, get_workload

#: layer-table columns: header (unit explicit) -> Workload.to_frame column
_COLUMNS: dict[str, str] = {
    "layer": "layer", "N": "N", "C": "C", "M": "M", "R": "R", "S": "S", "P": "P", "Q": "Q",
    "G": "G", "h_stride": "h_stride", "w_stride": "w_stride", "h_dilation": "h_dilation",
    "w_dilation": "w_dilation", "input_bits": "input_bits", "weight_bits": "weight_bits",
    "output_bits": "output_bits", "dynamic": "dynamic", "macs_count": "macs",
    "weights_count": "weights",
}


def onnx_options(f: Callable) -> Callable:
    """``--dims NAME=N`` and ``--onnx-skip-unsupported`` for commands that load workloads."""
    f = click.option("--onnx-skip-unsupported", "onnx_skip_unsupported", is_flag=True,
                     help="Drop ONNX nodes with weights the importer does not support "
                          "(ConvTranspose, 3-D Conv, ...) instead of failing; warns how many "
                          "MACs were dropped.")(f)
    return click.option("--dims", "onnx_dims", multiple=True, metavar="NAME=N[,NAME=N]",
                        help="Sizes of symbolic ONNX dimensions, e.g. --dims batch=1 "
                             "(repeatable).")(f)


def parse_dims(items: Sequence[str]) -> dict[str, int]:
    """``["batch=1,seq=128", "x=2"]`` -> ``{"batch": 1, "seq": 128, "x": 2}``."""
    out: dict[str, int] = {}
    for item in items:
        for part in item.split(","):
            name, eq, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not eq or not name or not value.isdigit() or int(value) <= 0:
                raise ImcoptError(f"--dims {short(part)}: expected NAME=N with N a positive "
                                  f"integer, e.g. --dims batch=1")
            out[name] = int(value)
    return out


def load_cli_workloads(spec: str, onnx_dims: Sequence[str] = (),
                       onnx_skip_unsupported: bool = False) -> list[Workload]:
    """`load_workloads` with the ONNX options; dropped-layer warnings go to stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DroppedLayersWarning)
        loaded = load_workloads(spec, onnx_dims=parse_dims(onnx_dims),
                                onnx_skip_unsupported=onnx_skip_unsupported)
    for w in caught:
        if issubclass(w.category, DroppedLayersWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return loaded


def summary(w: Workload) -> dict[str, object]:
    """The JSON summary of one workload: name, layer count, total MACs, static weights."""
    return {"name": w.name, "n_layers": w.n_layers, "macs": w.total_macs,
            "weights": w.total_weights}


@click.group()
def workloads() -> None:
    """Built-in networks, workload sets and workload files."""


@workloads.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List the zoo networks (layers, MACs, weights) and the named sets."""
    nets = [summary(get_workload(name)) for name in ZOO]
    if as_json:
        click.echo(json.dumps({"workloads": nets,
                               "sets": {k: list(v) for k, v in SETS.items()}}, indent=2))
        return
    click.echo(f"{'name':<14} {'layers':>6} {'macs_G':>10} {'weights_M':>10}")
    for s in nets:
        click.echo(f"{s['name']:<14} {s['n_layers']:>6} {s['macs'] / 1e9:>10.3f} "
                   f"{s['weights'] / 1e6:>10.3f}")
    click.echo("\nsets:")
    for name, members in SETS.items():
        click.echo(f"  {name}: {', '.join(members)}")


@workloads.command("show")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"name", "n_layers", "macs", "weights"} (a list for several).')
@onnx_options
def show_cmd(spec: str, as_json: bool, onnx_dims: tuple[str, ...],
             onnx_skip_unsupported: bool) -> None:
    """Show the layer table of SPEC: a zoo name, a set, a file/folder, or a comma list."""
    loaded = load_cli_workloads(spec, onnx_dims, onnx_skip_unsupported)
    if as_json:
        data = [summary(w) for w in loaded]
        click.echo(json.dumps(data[0] if len(data) == 1 else data))
        return
    for i, w in enumerate(loaded):
        if i:
            click.echo("")
        df = w.to_frame().rename(columns={v: k for k, v in _COLUMNS.items()})
        click.echo(f"# {w.name} ({w.source or 'zoo'})")
        click.echo(df.to_string(index=False))
        click.echo(f"total: {w.n_layers} layers, {w.total_macs} MACs "
                   f"({w.total_macs / 1e9:.3f} G), {w.total_weights} weights "
                   f"({w.total_weights / 1e6:.3f} M, dynamic layers excluded)")

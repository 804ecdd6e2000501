"""`imcopt spaces`: list the built-in search spaces and show one (variables, units, fixed)."""

from __future__ import annotations

import json

import click

from problems.hardware.design import MEMORY_TYPES
from problems.spaces import UNITS, SearchSpace, list_spaces, spaces_dir


def _first_sentence(text: str, width: int = 70) -> str:
    s = " ".join(text.split())
    s = s.split(". ")[0].rstrip(".")
    return s if len(s) <= width else s[: width - 3] + "..."


def summary(space: SearchSpace) -> dict[str, object]:
    """The JSON summary of one space: name, size, variable names, description, source file."""
    return {"name": space.name, "size": space.size, "n_var": space.n_var,
            "variables": space.names, "description": space.description,
            "source": space.source}


def details(space: SearchSpace) -> dict[str, object]:
    """Everything about one space: variables with their values and units, the fixed values."""
    fixed = [{"name": p, "value": MEMORY_TYPES[int(v)] if p == "memory" else v,
              "unit": next(iter(UNITS[p]))} for p, v in space.fixed.items()]
    return summary(space) | {
        "variables": [{"name": v.name, "unit": v.unit, "n_values": v.cardinality,
                       "values": v.to_list()} for v in space.variables],
        "fixed": fixed,
    }


@click.group()
def spaces() -> None:
    """Built-in search spaces and space files."""


@spaces.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List the built-in spaces (designs, variables, description)."""
    items = [summary(SearchSpace.load(name)) for name in list_spaces()]
    if as_json:
        click.echo(json.dumps({"spaces": items, "folder": str(spaces_dir())}, indent=2))
        return
    w = max(len(str(s["name"])) for s in items)
    click.echo(f"{'space':{w}} {'designs':>14} {'n_var':>5}  description")
    for s in items:
        click.echo(f"{s['name']:{w}} {s['size']:>14,} {s['n_var']:>5}  "
                   f"{_first_sentence(str(s['description']), 90 - w)}")
    click.echo(f"(files in {spaces_dir()}; `imcopt spaces show NAME` for the values)")


@spaces.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def show_cmd(name: str, as_json: bool) -> None:
    """Show one space: NAME is a built-in space or a space YAML file."""
    d = details(SearchSpace.load(name))
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"space {d['name']}: {d['size']:,} designs, {d['n_var']} variables "
               f"(file {d['source']})")
    if d["description"]:
        click.echo(" ".join(str(d["description"]).split()))
    click.echo("variables (enumeration order, last varies fastest):")
    for v in d["variables"]:  # type: ignore[union-attr]
        vals = ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v["values"])
        click.echo(f"  {v['name']:16} {v['n_values']:>3} values [{v['unit']}]: {vals}")
    click.echo("fixed:")
    for f in d["fixed"]:  # type: ignore[union-attr]
        val = f"{f['value']:g}" if isinstance(f["value"], float) else str(f["value"])
        unit = "" if f["name"] == "memory" else f" {f['unit']}"
        click.echo(f"  {f['name']:16} = {val}{unit}")

"""`imcopt algorithms`: list the registered search algorithms and show one's parameters."""

from __future__ import annotations

import json

import click

from problems.errors import ImcoptError
from study.algorithms import ALGORITHMS


@click.group()
def algorithms() -> None:
    """Registered search algorithms (name, source, parameters with defaults)."""


@algorithms.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List every algorithm: name, source (paper / pymoo / imcopt), objective form, what it is."""
    specs = [spec.to_dict() for spec in ALGORITHMS.values()]
    if as_json:
        click.echo(json.dumps(specs, indent=2))
        return
    click.echo(f"{'name':<14} {'source':<7} {'objective':<9} description")
    for d in specs:
        click.echo(f"{d['name']:<14} {d['source']:<7} {d['objective_kind']:<9} "
                   f"{d['description']}")


@algorithms.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def show_cmd(name: str, as_json: bool) -> None:
    """Show algorithm NAME: description, source, library name and parameters with defaults."""
    if name not in ALGORITHMS:
        raise ImcoptError(f"unknown algorithm {name!r}; allowed: {sorted(ALGORITHMS)}")
    d = ALGORITHMS[name].to_dict()
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"{d['name']}: {d['description']}")
    click.echo(f"source: {d['source']}    objective: {d['objective_kind']}")
    if d["library"]:
        click.echo(f"library: {d['library']}")
    click.echo("parameters (study YAML: algorithms: [{name: ..., params: {...}}]):")
    defaults = {k: json.dumps(p["default"]) for k, p in d["parameters"].items()}
    width = max(len(k) for k in defaults)
    dwidth = max(min(len(v), 20) for v in defaults.values())
    click.echo(f"  {'name':<{width}}  {'default':<{dwidth}}  meaning")
    for key, par in d["parameters"].items():
        click.echo(f"  {key:<{width}}  {defaults[key]:<{dwidth}}  {par['help']}")

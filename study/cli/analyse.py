"""`imcopt compare|plot|report DIR`: analyse a study directory written by `imcopt run`."""

from __future__ import annotations

from pathlib import Path

import click

_DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.command()
@_DIR
@click.option("--no-indicators", is_flag=True, help="Skip hypervolume / IGD+ (faster).")
def compare(directory: Path, no_indicators: bool) -> None:
    """Print per-algorithm tables and pairwise tests of a study."""
    from study.analysis import analyse
    from study.report import ALG_HEADER, PAIR_HEADER, algorithm_rows, fmt, pair_rows, text_table

    a = analyse(directory, indicators=not no_indicators)
    res = a["results"]
    for sc in res.scenario_names:
        ref, kind = res.reference(sc)
        click.echo(f"\n== scenario {sc}: reference {fmt(ref)} J*s*mm^2 ({kind}) ==")
        click.echo(text_table(algorithm_rows(a["table"], sc), ALG_HEADER))
        pw = a["pairwise"].get(sc)
        if pw is not None and len(pw):
            click.echo("\nMann-Whitney U (two-sided, Holm-corrected), A12 = P(A better):")
            click.echo(text_table(pair_rows(pw), PAIR_HEADER))
    fr = a["friedman"]
    click.echo("")
    if fr.get("p_value") is not None:
        click.echo(f"Friedman across {fr['n_blocks']} scenarios: chi2 = {fmt(fr['statistic'])}, "
                   f"p = {fmt(fr['p_value'])}")
    else:
        click.echo(f"Friedman test not applicable: {fr.get('note')}")
    if fr.get("mean_ranks"):
        ranks = sorted(fr["mean_ranks"].items(), key=lambda kv: kv[1])
        click.echo("mean ranks: " + ", ".join(f"{k} {v:.2f}" for k, v in ranks))


@click.command()
@_DIR
def plot(directory: Path) -> None:
    """Write the figures of a study into DIR/plots."""
    from study.analysis import best_designs_table, load_results
    from study.plots import plot_all

    res = load_results(directory)
    for p in plot_all(res, best_designs_table(res), directory / "plots"):
        click.echo(str(p))


@click.command()
@_DIR
@click.option("--no-plots", is_flag=True, help="Reuse the figures already in DIR/plots.")
def report(directory: Path, no_plots: bool) -> None:
    """Rewrite runs.csv, best_designs.csv, summary.json, plots and report.md of a study."""
    from study.report import finalize_study

    finalize_study(directory, log=lambda msg: click.echo(msg, err=True), plots=not no_plots)
    click.echo(str(directory / "report.md"))

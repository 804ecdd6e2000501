"""The `imcopt` command: a click group; each sub-command lives in its own module here.

Every `ImcoptError` (bad config, design, workload file, argument) is printed as one line
``Error: ...`` with exit code 2 and no traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from problems.errors import ImcoptError

#: sub-command name -> "module:attribute" (imported lazily so `imcopt --help` stays fast)
COMMANDS: dict[str, str] = {
    "workloads": "study.cli.workloads:workloads",
    "algorithms": "study.cli.algorithms:algorithms",
    "evaluate": "study.cli.evaluate:evaluate",
    "validate": "study.cli.validate:validate",
    "exhaustive": "study.cli.exhaustive:exhaustive",
    "run": "study.cli.run:run",
    "compare": "study.cli.analyse:compare",
    "plot": "study.cli.analyse:plot",
    "report": "study.cli.analyse:report",
    "spaces": "study.cli.spaces:spaces",
    "best": "study.cli.analyse:best",
    "suite": "study.cli.suite:suite",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # sub-command not written yet
                return None
            raise
        return getattr(mod, attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="imcopt")
def cli() -> None:
    """imcopt: joint hardware-workload co-optimisation of in-memory-computing accelerators."""


def main(argv: list[str] | None = None, obj: dict | None = None) -> None:
    """Console entry point: run the CLI, turning ImcoptError into a clean message.

    ``obj``: the click context object (e.g. ``{"backend": ...}`` for `imcopt run` in tests)."""
    try:
        cli.main(args=argv, prog_name="imcopt", standalone_mode=False, obj=obj)
    except ImcoptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # a bad flag value or a missing argument: one line too
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if no_args and isinstance(exc, no_args):
            exc.show()
        else:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def entry() -> None:
    """The console script: `main`, then exit at once, skipping the interpreter's teardown of
    numpy, pandas, scipy, matplotlib and numba (~1 s after `imcopt run`). Every output file is
    written through an atomic replace and closed by then, and the streams are flushed here.
    An unexpected exception still ends with Python's own traceback and exit."""
    try:
        main()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message"): Python prints it and exits with 1
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`imcopt ... | head`)
        code = code or 1
    os._exit(code or 0)


if __name__ == "__main__":
    entry()

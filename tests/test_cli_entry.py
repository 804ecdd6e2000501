"""The console script `study.cli.main:entry`: `main`'s output and exit codes, then an
immediate exit (no interpreter teardown), with nothing lost on the way."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

ENTRY = "from study.cli.main import entry; entry()"


def _entry(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True,
                          text=True, timeout=120, **kw)


def test_console_script_is_entry() -> None:
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "imcopt"]
    assert ep.value == "study.cli.main:entry"


def test_output_complete_and_exit_zero() -> None:
    r = _entry("spaces", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["space", "designs"]
    assert any(line.startswith("rram-paper ") for line in lines)
    assert r.stderr == ""


def test_bad_input_is_one_error_line_and_exit_2() -> None:
    r = _entry("run", "--jobs", "0")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["Error: --jobs must be >= 1, got 0"]


def test_output_written_to_a_file_is_flushed(tmp_path) -> None:
    out = tmp_path / "designs.txt"
    with out.open("w") as fh:
        r = subprocess.run([sys.executable, "-c", ENTRY, "spaces", "list"], stdout=fh,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == _entry("spaces", "list").stdout


def test_closed_pipe_no_traceback() -> None:
    p = subprocess.Popen([sys.executable, "-c", ENTRY, "spaces", "list"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.readline()
    p.stdout.close()          # like `imcopt spaces list | head -1`
    err = p.stderr.read()
    p.wait(timeout=120)
    assert "Traceback" not in err

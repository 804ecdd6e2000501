"""Shared helpers for the bad-input tests: run the CLI in-process, snapshot a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from study.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) -> its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(args: list[str]) -> int:
    """Run ``imcopt ARGS`` in-process; the exit code (0 when main returns)."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def refused(capsys: pytest.CaptureFixture, args: list[str], folder: Path,
            *needles: str, warnings_ok: bool = False) -> str:
    """Assert ``imcopt ARGS`` exits 2 with ONE ``Error:`` line containing every needle,
    no traceback, and every file under ``folder`` byte-identical; return the line.
    With ``warnings_ok``, ``warning:`` lines before it are allowed."""
    capsys.readouterr()
    before = snapshot(folder)
    code = run(args)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    if warnings_ok:
        lines = [ln for ln in lines if not ln.lower().startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in out + err
    assert snapshot(folder) == before
    return lines[0]


def run_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``imcopt ARGS`` as a real process (proves: no traceback, real exit code)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "study.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def onnx_init(name: str, shape: tuple[int, ...]):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def save_onnx(path: Path, nodes: list, inputs: list, inits: list) -> Path:
    """A one-output ONNX model (opset 17) of ``nodes``; the last node's output is the output."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path

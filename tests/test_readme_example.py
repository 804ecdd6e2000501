"""The README's "Use it as a library" example runs as written (from another directory) and
gives what it claims: the paper's GA and NSGA-II through pymoo's minimize, exactly 2,800
evaluations each, and a decoded design evaluated by the cost model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def library_example() -> str:
    """The first python code block of the README section "Use it as a library"."""
    text = README.read_text()
    section = text.split("## Use it as a library", 1)
    assert len(section) == 2, "README has no 'Use it as a library' section"
    body = section[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert blocks, "the section has no python code block"
    return blocks[0]


def test_readme_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = library_example()
    assert len(code.strip().splitlines()) <= 22  # a short example, imports included
    monkeypatch.chdir(tmp_path)  # nothing in it may depend on the working directory
    scope: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), scope)  # noqa: S102 - the README's own code
    out = capsys.readouterr().out
    res, front, cost, problem = scope["res"], scope["front"], scope["cost"], scope["problem"]
    # exactly the budget, the result kept, and the best design is the archive's best
    archive = res.algorithm.evaluator.archive()
    assert len(archive) == 2800 and front.algorithm.evaluator.n_eval == 2800
    assert f"best EDAP [J*s*mm^2]: {archive.best_score}" in out
    assert 10 ** float(res.F[0]) == pytest.approx(archive.best_score, rel=1e-9)
    # the design evaluated with the cost model is the design the GA scored
    E, L, A = (np.asarray(a, dtype=float) for a in (cost.energy_j, cost.latency_s,
                                                     cost.area_mm2))
    assert E.shape == (1, 4) and np.all(E > 0) and A[0] <= 800
    assert E.max() * L.max() * A[0] == pytest.approx(problem.score(res.X[None])[0], rel=1e-9)
    assert E.max() * L.max() * A[0] == pytest.approx(archive.best_score, rel=1e-9)
    assert front.F.shape[1] == 3 and len(front.X) >= 1

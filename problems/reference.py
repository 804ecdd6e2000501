"""Where the CiMLoop reference data lives (never copied into the repo).

Looked up, in order: ``$IMCOPT_REFERENCE``, then ``../shared/reference`` next to the repository
(and next to the current directory). Returns None when absent, so tests skip cleanly.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def reference_dir() -> Path | None:
    """The reference folder holding cimloop_results.csv / cimloop_layers.csv, or None."""
    candidates = []
    if os.environ.get("IMCOPT_REFERENCE"):
        candidates.append(Path(os.environ["IMCOPT_REFERENCE"]))
    candidates += [REPO_ROOT.parent / "shared" / "reference",
                   Path.cwd().parent / "shared" / "reference"]
    for c in candidates:
        if (c / "cimloop_results.csv").is_file() and (c / "cimloop_layers.csv").is_file():
            return c
    return None

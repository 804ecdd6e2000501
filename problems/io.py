"""File I/O: atomic writes (a reader never sees a partial file, an interrupted write leaves
none) and checked YAML reads (one clear error naming the file and the line)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from problems.errors import ImcoptError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj: object, allow_nan: bool = True) -> None:
    """JSON (numpy scalars/arrays and paths converted) written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=1, default=_json_default,
                                       allow_nan=allow_nan) + "\n")


def _json_default(o: object) -> object:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file; ImcoptError naming ``what``, the file and the offending line."""
    p = Path(path)
    if not p.is_file():
        raise ImcoptError(f"{what} {p} does not exist or is not a file")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImcoptError(f"{what} {p}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ImcoptError(f"{what} {p}: not valid YAML{at}: "
                          f"{getattr(exc, 'problem', None) or exc}") from None

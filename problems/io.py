"""File I/O: atomic writes (a reader never sees a partial file, an interrupted write leaves
none), a writability check to run BEFORE a long computation, and checked YAML reads (one clear
error naming the file and the line; duplicate keys are errors).

Temp files are named ``.{name}.XXXXXXXX.tmp`` next to the target (``TEMP_PATTERN``); clean-up
code may match exactly that. Outputs get mode ``0o666 & ~umask`` like any ordinary file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from problems.errors import ImcoptError, short

#: glob of the temp files atomic writes create (``{name}`` = the target's file name)
TEMP_PATTERN = ".{name}.*.tmp"


class OutputError(ImcoptError):
    """An output cannot be written (read-only folder, disk full, path is a folder, ...)."""


def _cannot_write(path: Path, exc: OSError | str) -> OutputError:
    reason = exc if isinstance(exc, str) else (exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}")


def current_umask() -> int:
    """The process umask (read from /proc when possible: toggling it is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_file(folder: Path, name: str) -> tuple[int, str]:
    return tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")


def check_writable(path: str | Path) -> Path:
    """Raise `OutputError` unless ``path`` can be written; call it before computing.

    The nearest existing folder on the way to ``path`` must accept a new file (probed by
    creating and removing one temp file there, so it is right for root, ACLs and read-only
    mounts too); ``path`` itself must not be a folder. Nothing is left behind.
    """
    path = Path(path)
    if path.is_dir():
        raise _cannot_write(path, "is a directory")
    folder = path.parent
    while not folder.exists():
        if folder == folder.parent:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise _cannot_write(path, f"{folder} is not a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise _cannot_write(path, "file is read-only")
    try:
        fd, tmp = _temp_file(folder, path.name)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    os.close(fd)
    os.unlink(tmp)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder and os.replace.

    Any OSError becomes `OutputError` ("cannot write PATH: reason"); the temp file is removed
    and an existing `path` is left untouched.
    """
    path = Path(path)
    tmp: str | None = None
    created: list[Path] = []  # folders made for this file, removed again if it fails
    try:
        for folder in (path.parent, *path.parent.parents):
            if folder.exists():
                if not folder.is_dir():
                    raise _cannot_write(path, f"{folder} is not a directory")
                break
            created.append(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_file(path.parent, path.name)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        for folder in created:  # deepest first; only if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj: object, allow_nan: bool = True) -> None:
    """JSON (numpy scalars/arrays and paths converted) written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=1, default=_json_default,
                                       allow_nan=allow_nan) + "\n")


def atomic_write_figure(path: str | Path, fig: Any, **savefig_kw: Any) -> None:
    """A matplotlib figure saved atomically (format from the suffix, as ``savefig``)."""
    buf = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, **savefig_kw)
    atomic_write_bytes(path, buf.getvalue())


def _json_default(o: object) -> object:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# ------------------------------------------------------------------------------------ YAML
class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping repeats a key (plain YAML keeps the last value silently)."""

    def __init__(self, key: object, mark: yaml.Mark, first: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {short(key)} (first given at line "
                                     f"{first.line + 1})", mark)


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys (``<<`` merges may still override)."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # called on each mapping before its merge keys are expanded into it: check it once
        checked = self.__dict__.setdefault("_checked_nodes", set())
        if id(node) not in checked:
            checked.add(id(node))
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: the constructor reports it
                    continue
                if first is not None:
                    raise DuplicateKeyError(key, key_node.start_mark, first)
                seen[key] = key_node.start_mark
        super().flatten_mapping(node)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with duplicate keys refused (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - SafeLoader subclass


def yaml_error_message(exc: yaml.YAMLError) -> str:
    """``at line N: problem`` for a YAML parse error (capped)."""
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}" if mark is not None else ""
    problem = str(getattr(exc, "problem", None) or exc)
    return f"{at}: {short(problem, 400)[1:-1] if len(problem) > 400 else problem}"


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
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ImcoptError(f"{what} {p}: not valid YAML{yaml_error_message(exc)}") from None

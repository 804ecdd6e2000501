"""Files shipped inside the package (built-in spaces, the quickstart study, model tables).

Everything the code reads at run time is package data, found through `importlib.resources`
so it works from any working directory with an editable or a non-editable (wheel) install.
A missing file is an `ImcoptError` naming it (a broken install must fail, never fall back).
The human-facing copies under ``configs/`` are symlinks to these files (one source of truth).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from problems.errors import ImcoptError


def _resource(package: str, parts: tuple[str, ...]) -> Path:
    res = files(package).joinpath(*parts)
    # pip installs wheels unpacked, so resources are plain files (zip imports unsupported)
    return Path(str(res))


def checked_file(path: Path, label: str) -> Path:
    """``path`` if it is a file; else ImcoptError naming ``label`` (a broken install)."""
    if not Path(str(path)).is_file():
        raise ImcoptError(f"package data file {label} is missing (looked at {path}); "
                          f"the imcopt install is incomplete, reinstall it")
    return Path(str(path))


def data_file(package: str, *parts: str) -> Path:
    """Path of the package data file ``package/parts...``; ImcoptError if it is missing."""
    return checked_file(_resource(package, parts), f"{package}/{'/'.join(parts)}")


def data_dir(package: str, *parts: str) -> Path:
    """Path of the package data folder ``package/parts...``; ImcoptError if it is missing."""
    path = _resource(package, parts)
    if not path.is_dir():
        raise ImcoptError(f"package data folder {package}/{'/'.join(parts)} is missing "
                          f"(looked at {path}); the imcopt install is incomplete, reinstall it")
    return path

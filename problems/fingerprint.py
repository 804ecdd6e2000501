"""One content-hash scheme for every cache key and fingerprint in imcopt.

sha256 of canonical JSON (sorted keys, non-JSON values via ``str``), hex, optionally truncated;
files hashed with their relative names. Used by search spaces, the specialists cache, the cost
model's fingerprint, study runs and the integrity checks of study artefacts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def digest(obj: Any, length: int = 64) -> str:
    """sha256 hex of ``obj`` as canonical JSON, truncated to ``length`` characters."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def digest_named(items: Iterable[tuple[str, bytes]]) -> str:
    """sha256 hex of (name, content) pairs in the given order (files of a package, ...)."""
    h = hashlib.sha256()
    for name, data in items:
        h.update(name.encode())
        h.update(data)
    return h.hexdigest()


def digest_files(files: Iterable[Path], root: Path) -> str:
    """sha256 hex of files' names (relative to ``root``) and contents, in the given order."""
    return digest_named((str(Path(p).relative_to(root)), Path(p).read_bytes()) for p in files)


def file_digest(path: Path) -> str:
    """sha256 hex of one file's bytes (integrity check of a written artefact)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

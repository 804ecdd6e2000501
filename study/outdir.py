"""The output directory of a study: which files in it imcopt made (and may clean up)."""

from __future__ import annotations

import re
from pathlib import Path

#: temp files of `problems.io` atomic writes (``.{name}.XXXXXXXX.tmp``) and of
#: `Archive.save` (``.{name}.XXXXXXXX.tmp.npz``): mkstemp's 8 random characters
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp(\.npz)?$")
#: the folders of DIR that imcopt writes into
OWN_FOLDERS = ("runs", "optimum", "baselines", "plots", "fronts")


def is_own_temp(path: Path) -> bool:
    """True for a temp file left by imcopt's atomic writers (nothing a user would name so)."""
    return TEMP_NAME.match(path.name) is not None


def clean_partial(out: Path) -> int:
    """Remove imcopt's temp files a killed study may have left in its folders; return how
    many. Only files matching `TEMP_NAME` in DIR and its own folders are touched."""
    found = list(out.glob(".*.tmp*"))
    for sub in OWN_FOLDERS:
        if (out / sub).is_dir():
            found += (out / sub).rglob(".*.tmp*")
    n = 0
    for p in found:
        if p.is_file() and not p.is_symlink() and is_own_temp(p):
            p.unlink(missing_ok=True)
            n += 1
    return n

"""The output directory of a study: owned by one study at a time (a lock held for the whole
run, the holder named in the error of a second run), checked to hold THIS study (the stored
study fingerprint; another config is refused unless ``--force`` moves the old results aside),
never a user's folder, and cleaned of imcopt's own temp files only."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.fingerprint import digest
from problems.io import atomic_write_json
from study.config import StudyConfig
from study.tasks import read_json

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


# -- ownership: one study per directory ------------------------------------------------------
LOCK_NAME = ".imcopt.lock"
OWNER_NAME = ".imcopt-owner.json"
RECORD_NAME = "study.json"
PREVIOUS_PREFIX = ".previous-"


def _imcopt_entry(p: Path) -> bool:
    """Entries of DIR that imcopt itself creates around a study (lock, owner, set-aside)."""
    return p.name in (LOCK_NAME, OWNER_NAME) or p.name.startswith(PREVIOUS_PREFIX) \
        or is_own_temp(p)


def study_record(config: StudyConfig, identities: dict[str, str]) -> dict[str, Any]:
    """The content of DIR/study.json: config, content identities and the study fingerprint
    (config without its output path + identities of space, workloads and cost model)."""
    cfg = config.to_dict()
    return {"imcopt": _version(), "config": cfg, "identities": identities,
            "fingerprint": digest({"config": {k: v for k, v in cfg.items() if k != "output"},
                                   "identities": identities}, 16)}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two study records, e.g. "budget 700 vs 1400"."""
    a, b = old.get("config") or {}, new["config"]
    out = []
    for k in sorted(set(a) | set(b)):
        if k in ("output", "scenarios") or a.get(k) == b.get(k):
            continue
        out.append(f"{k} {_show(a.get(k))} vs {_show(b.get(k))}")
    sa = {s.get("name"): s for s in a.get("scenarios") or []}
    sb = {s["name"]: s for s in b.get("scenarios") or []}
    if list(sa) != list(sb):
        out.append(f"scenarios {list(sa)} vs {list(sb)}")
    for name in [n for n in sb if n in sa]:
        for k in sorted(set(sa[name]) | set(sb[name])):
            if sa[name].get(k) != sb[name].get(k):
                out.append(f"scenario {name!r} {k} {_show(sa[name].get(k))} vs "
                           f"{_show(sb[name].get(k))}")
        ia, ib = (old.get("identities") or {}).get(name), new["identities"].get(name)
        if ia != ib and sa[name] == sb[name]:
            out.append(f"scenario {name!r}: the cost model, space or workload content "
                       f"changed (identity {ia} vs {ib})")
    return out


def _show(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= 80 else s[:77] + "..."


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("imcopt")
    except Exception:  # noqa: BLE001 - not installed: a source checkout
        return "source"


class StudyDirectory:
    """DIR owned by one running study: lock held from `claim` to `release`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._lock: Any = None

    def claim(self, record: dict[str, Any], force: bool = False,
              say: Callable[[str], None] | None = None) -> None:
        """Lock DIR for this run and check it may hold this study: refuse a folder imcopt did
        not make, a directory in use, or one with another study (unless ``force``: then the
        earlier results are moved to DIR/.previous-<time>/, never deleted)."""
        from filelock import FileLock, Timeout

        out = self.out
        self._refuse_foreign()
        try:
            out.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(out / LOCK_NAME), timeout=0)
            lock.acquire()
        except Timeout:
            raise ImcoptError(f"{out} is in use by {self._holder()}; wait for that study to "
                              f"finish or choose another --out") from None
        except OSError as exc:
            raise ImcoptError(f"cannot write {out}: {exc.strerror or exc}") from None
        self._lock = lock
        try:
            atomic_write_json(out / OWNER_NAME, {"pid": os.getpid(),
                                                 "host": socket.gethostname(),
                                                 "since": _now()})
            self._check_record(record, force, say or (lambda msg: None))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give DIR back (the owner record is removed, then the lock released)."""
        if self._lock is not None:
            (self.out / OWNER_NAME).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _refuse_foreign(self) -> None:
        out = self.out
        if not out.is_dir() or (out / RECORD_NAME).is_file():
            return
        foreign = sorted(p.name for p in out.iterdir() if not _imcopt_entry(p))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ImcoptError(f"{out} is not empty and was not made by imcopt (no "
                              f"{RECORD_NAME}; it holds {shown}): choose a new --out")

    def _holder(self) -> str:
        for _ in range(20):  # the holder writes its record right after locking
            data, _status = read_json(self.out / OWNER_NAME)
            if data is not None:
                return (f"pid {data.get('pid')} on {data.get('host')} "
                        f"(since {data.get('since')})")
            time.sleep(0.05)
        return "another imcopt process"

    def _check_record(self, record: dict[str, Any], force: bool,
                      say: Callable[[str], None]) -> None:
        path = self.out / RECORD_NAME
        old, status = read_json(path)
        if status == "missing":
            return
        if old is not None and old.get("config") is not None:
            diff = differences(old, record)
            if not diff:
                return
            why = f"holds another study ({'; '.join(diff)})"
        else:
            why = f"has a damaged {RECORD_NAME} ({status})"
        if not force:
            raise ImcoptError(f"{self.out} {why}: re-run with --force to move those results "
                              f"to {self.out}/{PREVIOUS_PREFIX}<time>/, or choose a new --out")
        aside = self.move_aside()
        say(f"{self.out} {why}: moved the earlier results to {aside}")

    def move_aside(self) -> Path:
        """Move every result in DIR into DIR/.previous-<time>/ (nothing is deleted)."""
        aside = self.out / f"{PREVIOUS_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}"
        k = 1
        while aside.exists():
            k += 1
            aside = aside.with_name(f"{aside.name.split('~')[0]}~{k}")
        aside.mkdir()
        for p in sorted(self.out.iterdir()):
            if p != aside and not _imcopt_entry(p):
                p.rename(aside / p.name)
        return aside


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


# -- output targets --------------------------------------------------------------------------
def check_writable(files: list[Path]) -> None:
    """Before computing: every target can be written (`problems.io.check_writable`, one probe
    per folder); `OutputError` "cannot write PATH: reason" for the first that cannot."""
    from problems.io import check_writable as check_one

    seen: set[Path] = set()
    for f in map(Path, files):
        if f.parent not in seen or f.is_dir():
            check_one(f)
            seen.add(f.parent)

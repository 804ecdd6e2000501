"""CI helper: assert two outputs (editable vs wheel install) hold the same numbers.

    python .ci/compare.py json A.json B.json [--ignore KEY,...]
    python .ci/compare.py csv A.csv B.csv KEYCOLS [--ignore COL,...]

Numbers must agree to a relative 1e-9 (same code and data give identical floats; the check
catches e.g. a data table missing from the wheel, which moves cimloop energies by percent).
Exit 1 listing the first differences.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

REL = 1e-9


def _num(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def _same(a: object, b: object) -> bool:
    fa, fb = _num(a), _num(b)
    if fa is not None and fb is not None:
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=REL, abs_tol=0.0)
    return a == b


def diff_json(a: object, b: object, ignore: set[str], path: str, out: list[str]) -> int:
    """Append differences of a and b to out; return the number of leaves compared."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - ignore
        n = 0
        for k in sorted(keys):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'B' if k in b else 'A'}")
                continue
            n += diff_json(a[k], b[k], ignore, f"{path}.{k}", out)
        return n
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: lengths {len(a)} != {len(b)}")
            return 0
        return sum(diff_json(x, y, ignore, f"{path}[{i}]", out)
                   for i, (x, y) in enumerate(zip(a, b, strict=True)))
    if not _same(a, b):
        out.append(f"{path}: {a!r} != {b!r}")
    return 1


def diff_csv(a: str, b: str, keys: list[str], ignore: set[str], out: list[str]) -> int:
    def rows(p: str) -> dict[tuple[str, ...], dict[str, str]]:
        with open(p, newline="") as f:
            return {tuple(r[k] for k in keys): r for r in csv.DictReader(f)}

    ra, rb = rows(a), rows(b)
    if set(ra) != set(rb):
        out.append(f"rows differ: {sorted(set(ra) ^ set(rb))}")
        return 0
    n = 0
    for k in sorted(ra):
        for col in sorted((set(ra[k]) | set(rb[k])) - ignore):
            n += 1
            if not _same(ra[k].get(col), rb[k].get(col)):
                out.append(f"{k} {col}: {ra[k].get(col)!r} != {rb[k].get(col)!r}")
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["json", "csv"])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("keys", nargs="?", default="")
    ap.add_argument("--ignore", default="")
    args = ap.parse_args()
    ignore = {s for s in args.ignore.split(",") if s}
    out: list[str] = []
    if args.kind == "json":
        with open(args.a) as fa, open(args.b) as fb:
            n = diff_json(json.load(fa), json.load(fb), ignore, "$", out)
    else:
        n = diff_csv(args.a, args.b, args.keys.split(","), ignore, out)
    if out or n == 0:
        print(f"MISMATCH {args.a} vs {args.b} ({len(out)} differences, {n} values compared):",
              file=sys.stderr)
        for line in out[:20]:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"same: {args.a} == {args.b} ({n} values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

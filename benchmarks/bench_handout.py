"""Time ``calculus-ml handout --all --format html --out build/``: the whole catalogue in one run.

Prints one row per handout (build: derivations, numbers and figures drawn; write: figures saved
as PNG and SVG and the HTML printed) and the totals, then times the command line itself, in a
fresh process as a user runs it, against the 30 s budget (exit status 1 when over it).

Options: --format (default html) and --out (default: a temporary folder, removed afterwards).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET = 30.0
"""Seconds allowed for the whole catalogue."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="html", choices=("markdown", "latex", "html", "pdf"))
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-handout-"))

    start = time.perf_counter()
    from calculus_ml import handout

    imported = time.perf_counter() - start
    rows = []
    for name in handout.names():
        t0 = time.perf_counter()
        built = handout.build(name)
        t1 = time.perf_counter()
        handout.write(built, out / "api", args.format)
        rows.append((name, len(built.figures), t1 - t0, time.perf_counter() - t1))
    api_total = time.perf_counter() - start

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "calculus_ml", "handout", "--all", "--format",
                    args.format, "--out", str(out / "cli")], check=True, stdout=subprocess.DEVNULL)
    cli_total = time.perf_counter() - t0

    print(f"{'handout':<26}{'figures':>8}{'build s':>9}{'write s':>9}{'total s':>9}")
    for name, figures, build, write in rows:
        print(f"{name:<26}{figures:>8}{build:>9.2f}{write:>9.2f}{build + write:>9.2f}")
    print(f"{'import calculus_ml.handout':<26}{'':>8}{imported:>9.2f}")
    print(f"{'total (API, one process)':<26}{sum(r[1] for r in rows):>8}"
          f"{sum(r[2] for r in rows):>9.2f}{sum(r[3] for r in rows):>9.2f}{api_total:>9.2f}")
    verdict = "within" if cli_total < BUDGET else "OVER"
    print(f"\ncalculus-ml handout --all --format {args.format}: {cli_total:.1f} s "
          f"({verdict} the {BUDGET:.0f} s budget; {cli_total / BUDGET:.0%} of it)")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0 if cli_total < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())

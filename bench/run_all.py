#!/usr/bin/env python3
"""``make bench``: run every benchmark script of the mesh and print its figures and peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = int(os.environ.get("TONGBAN_BENCH_TIMEOUT", "900"))


def scripts() -> list[Path]:
    """Every ``bench_*.py`` under a component's ``bench/`` folder, in a stable order."""
    found = sorted(REPO.glob("*/bench/bench_*.py"))
    only = os.environ.get("BENCH")
    return [p for p in found if not only or only in str(p)]


def run(script: Path) -> int:
    """Run one benchmark, stream its output, then report its wall time and peak RSS."""
    rel = script.relative_to(REPO)
    print(f"\n=== {rel}", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO)
    deadline = start + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            print(f"--- {rel}: stopped after {TIMEOUT_S} s")
            break
        time.sleep(0.2)
    code = os.waitstatus_to_exitcode(status)
    print(f"--- {rel}: exit {code}, {time.monotonic() - start:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB")
    return code


def main() -> int:
    """Run them all; fail if any failed."""
    todo = scripts()
    if not todo:
        print("no benchmark scripts found")
        return 0
    failures = [s for s in todo if run(s) != 0]
    if failures:
        print("\nfailed: " + ", ".join(str(f.relative_to(REPO)) for f in failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

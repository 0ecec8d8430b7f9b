#!/usr/bin/env python3
"""``make bench``: run every benchmark script of the mesh and print its figures and peak RSS."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = int(os.environ.get("TONGBAN_BENCH_TIMEOUT", "900"))


def scripts() -> list[Path]:
    """Every ``bench_*.py`` under a component's ``bench/`` folder, in a stable order (BENCH=filter)."""
    found = sorted(REPO.glob("*/bench/bench_*.py"))
    only = os.environ.get("BENCH")
    return [p for p in found if not only or only in str(p)]


def run(script: Path) -> int:
    """Run one benchmark, stream its output, then report its wall time and peak RSS."""
    rel = script.relative_to(REPO)
    print(f"\n=== {rel}", flush=True)
    start = time.monotonic()
    # Its own process group, so the servers a benchmark starts go with it when it is stopped.
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, start_new_session=True)
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > TIMEOUT_S:
                print(f"--- {rel}: stopped after {TIMEOUT_S} s")
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    code = os.waitstatus_to_exitcode(status)
    print(
        f"--- {rel}: exit {code}, {time.monotonic() - start:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
    )
    return code


def main() -> int:
    """Run them all; fail if any failed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
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

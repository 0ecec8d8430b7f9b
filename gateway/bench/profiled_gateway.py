"""Runs the gateway for profiling: SIGUSR2 starts cProfile, SIGUSR1 writes PROFILE_OUT and exits.

``PROFILE_CLOCK=cpu`` (the default) times functions by the thread's CPU time: on a busy machine a
wall clock charges a socket write with the time the process spent preempted by the process it
woke, which is not work the gateway did. ``PROFILE_CLOCK=wall`` uses cProfile's usual clock.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from types import FrameType

import uvicorn


def main() -> None:
    """``python profiled_gateway.py PORT``: uvicorn on 127.0.0.1:PORT with the profiler on."""
    out = os.environ["PROFILE_OUT"]
    cpu = os.environ.get("PROFILE_CLOCK", "cpu") == "cpu"
    profiler = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()

    def dump(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out)
        os._exit(0)

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    # Started on a signal, so imports and warm-up stay out of the profile.
    signal.signal(signal.SIGUSR2, start)
    signal.signal(signal.SIGUSR1, dump)
    uvicorn.run(
        "tongban_gateway.main:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()

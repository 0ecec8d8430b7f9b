#!/usr/bin/env python3
"""``make run``: start the whole mesh on the embedded defaults, wait until it is ready, stop on Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tongban_kit import testing

REPO = Path(__file__).resolve().parents[2]
VAR = REPO / "var"
LOCK = VAR / "run.lock"


def print_dev_realm(identity_log: Path) -> None:
    """Show the dev clients and demo citizens identity-svc printed at start."""
    lines = identity_log.read_text(errors="replace").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Tongban identity dev realm")), None)
    if start is None:
        print("  dev clients and demo citizens: see var/logs/identity.log")
        return
    print()
    print(lines[start])
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        print(line)


def main() -> int:
    """Start broker and apps, report, and wait for Ctrl-C."""
    VAR.mkdir(exist_ok=True)
    lock = LOCK.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("make run is already running in this checkout (var/run.lock is held); stop it first.")
        return 1
    os.chdir(REPO)  # SQLite files live under var/ relative to the repository
    broker_was_up = (
        subprocess.run(  # noqa: S603
            [sys.executable, str(REPO / "deploy/local/kafka.py"), "status"], capture_output=True, check=False
        ).returncode
        == 0
    )
    testing.ensure_broker()
    ports = {c.name: c.port for c in testing.COMPONENTS}
    envs = testing.mesh_env(ports, env="dev")
    mesh = testing.Mesh()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    logs = VAR / "logs"
    logs.mkdir(exist_ok=True)
    try:
        for comp in testing.COMPONENTS:
            app = testing.AppProcess(
                comp.factory, envs[comp.name], comp.port, comp.name, logs / f"{comp.name}.log"
            )
            mesh.apps[comp.name] = app.start()
            print(f"started {comp.name:<10} on :{comp.port}  (log var/logs/{comp.name}.log)")
            if comp.name == "identity":
                app.wait_ready("/healthz", 120)  # the others fetch its keys
        mesh.wait_ready("/readyz", 180)
        print()
        print("Tongban is ready.")
        print("  gateway      http://127.0.0.1:8000   (API docs: http://127.0.0.1:8000/docs)")
        print("  OIDC issuer  http://127.0.0.1:8000/identity/.well-known/openid-configuration")
        print_dev_realm(logs / "identity.log")
        print("Press Ctrl-C to stop.")
        while not stopping:
            dead = [a.name for a in mesh if not a.is_running()]
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)}; see var/logs/")
                return 1
            time.sleep(0.5)
        return 0
    except (TimeoutError, RuntimeError) as exc:
        print(f"the mesh did not become ready: {exc}")
        return 1
    finally:
        print("stopping the mesh ...")
        mesh.stop()
        if not broker_was_up:
            testing.broker_stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())

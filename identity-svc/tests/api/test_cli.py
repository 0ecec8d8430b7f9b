"""`python -m identity_svc bootstrap-admin`: prints the first admin's secret once, then refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TONGBAN_ENV": "test",
        "IDENTITY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'boot.db'}",
        "IDENTITY_ARGON2_MEMORY_COST": "1024",
        "IDENTITY_ARGON2_TIME_COST": "1",
        "IDENTITY_ARGON2_PARALLELISM": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "identity_svc", "bootstrap-admin", "--migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bootstrap_admin_command_runs_once(tmp_path: Path) -> None:
    first = run_cli(tmp_path)
    assert first.returncode == 0, first.stderr
    lines = dict(line.split("=", 1) for line in first.stdout.splitlines() if "=" in line)
    assert lines["client_id"] == "identity-admin" and len(lines["client_secret"]) >= 40
    second = run_cli(tmp_path)
    assert second.returncode == 1
    assert "refused" in second.stderr and "client_secret" not in second.stdout

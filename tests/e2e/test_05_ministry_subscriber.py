"""The ministry subscriber saw every case of the session in order, and runs standalone as shipped."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from typing import Any

import pytest
from e2e_support import CASE_TOPIC, REPO, Ministry, assert_gap_free

pytestmark = pytest.mark.mesh


def test_live_subscriber_saw_every_case_gap_free(ministry: Ministry, story: dict[str, Any]) -> None:
    finished = story.get("finished_cases", [])
    assert len(finished) >= 4, "the scenario modules run first and record their cases"
    for case_id in finished:
        events = ministry.events_of(case_id)
        assert events and events[-1]["type"].split(".")[-2] in ("delivered", "rejected")
        assert_gap_free(events)
    assert ministry.follower.problems == []
    assert not ministry.errors and ministry.thread.is_alive()


def test_standalone_subscriber_replays_the_topic_in_its_own_group(
    running_mesh: Any, ministry: Ministry, story: dict[str, Any]
) -> None:
    script = REPO / "contracts" / "examples" / "ministry_subscriber.py"
    run = subprocess.run(
        [
            sys.executable,
            str(script),
            "--bootstrap",
            running_mesh.bootstrap,
            "--group",
            "ministry-standalone-" + running_mesh.topic_prefix.strip("."),
            "--topic",
            running_mesh.topic(CASE_TOPIC),
            "--idle-exit",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in lines:
        by_case[event["case"]].append(event)
    for case_id in story["finished_cases"]:
        # The same events, same ids, same order as the live subscriber that lived through the outage.
        assert [e["id"] for e in by_case[case_id]] == [e["id"] for e in ministry.events_of(case_id)]
        assert_gap_free(by_case[case_id])

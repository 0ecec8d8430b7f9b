"""The ministry's monitoring statistics reflect the session's cases: counts, corrections, on time."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_support import BEIJING, Api

pytestmark = pytest.mark.mesh


def _all_cases(ministry_api: Api, item: str) -> list[dict[str, Any]]:
    """Every case of an item, read in full by the monitor (regionless: it reads across regions)."""
    ids: list[str] = []
    cursor = None
    while True:
        params = {"item": item, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = ministry_api.get("/cases/v1/cases", params=params)
        ids.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return [ministry_api.case(case_id)[0] for case_id in ids]


def test_statistics_match_the_cases(ministry_api: Api, guangdong: Api, story: dict[str, Any]) -> None:
    assert {"proxy_case", "outage_cases", "traced_case", "joint_case"} <= set(story), story.keys()
    cases = _all_cases(ministry_api, "GG00004000")
    ours = {story["proxy_case"], story["traced_case"], *story["outage_cases"].values()}
    assert ours <= {c["id"] for c in cases}
    assert ministry_api.case(story["proxy_case"])[0]["applicant"].get("id_number") is None  # not a party

    stats = ministry_api.get("/cases/v1/statistics", params={"group_by": "item,mode", "item": "GG00004000"})
    assert stats["group_by"] == ["item", "mode"]
    (group,) = stats["groups"]
    assert group["group"] == {"item": "GG00004000", "mode": "proxy"}
    concluded = [c for c in cases if c["concluded_at"]]
    assert group["received"] == len(cases) >= 4
    assert group["concluded"] == len(concluded) >= 2
    assert group["rejected"] == sum(c["status"] == "rejected" for c in cases) >= 1
    assert group["withdrawn"] == 0
    rounds = sum(c["correction_rounds"] for c in cases)
    assert rounds >= 1 and group["correction_rounds_per_case"] == pytest.approx(rounds / len(cases))
    assert all(c["on_time"] for c in concluded)
    assert group["on_time_rate"] == 1.0 and group["handling_days_mean"] == 0.0
    assert group["transfer_seconds_mean"] is not None

    joint = ministry_api.get("/cases/v1/statistics", params={"item": "XK00003001"})["groups"]
    assert [(g["received"], g["concluded"], g["on_time_rate"]) for g in joint] == [(1, 1, 1.0)]

    by_region = ministry_api.get(
        "/cases/v1/statistics", params={"group_by": "handling_region", "region": BEIJING}
    )["groups"]
    beijing = next(g for g in by_region if g["group"] == {"handling_region": BEIJING})
    assert beijing["received"] == len(cases) and beijing["concluded"] == len(concluded)

    # Monitoring is for the ministry: a provincial platform has no cases:monitor.
    assert guangdong.call("GET", "/cases/v1/statistics").status_code == 403

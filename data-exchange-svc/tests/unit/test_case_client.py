"""The case-svc adapter: defensive reading of the case JSON, service token, 404, errors, caching."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from data_exchange_svc.adapters.case_client import HttpCaseDirectory, case_view_from_json
from data_exchange_svc.domain.errors import CaseServiceUnavailable
from tongban_kit.tokens import ServiceTokenProvider


def test_reads_the_documented_shape() -> None:
    view = case_view_from_json(
        {
            "id": "c1",
            "status": "accepted",
            "item_code": "XK00003001",
            "receiving_region": "440000",
            "handling_region": "110000",
            "participants": {"lead": "110000", "partner": "320000"},
            "applicant": {"subject_hash": "abc", "name": "张*"},
        }
    )
    assert view.regions() == {"440000", "110000", "320000"}
    assert view.applicant_subject_hash == "abc"
    assert view.item_code == "XK00003001"


def test_tolerates_other_shapes() -> None:
    view = case_view_from_json(
        {
            "id": "c2",
            "status": "submitted",
            "item": {"basic_code": "QR00001000"},
            "receiving_region": {"code": "310000", "name": "上海市"},
            "handling_region": None,
            "participants": [{"region": "330000"}, "510000"],
            "tasks": [{"region": "500000"}, "junk"],
            "applicant": "not a mapping",
        }
    )
    assert view.item_code == "QR00001000"
    assert view.receiving_region == "310000"
    assert view.handling_region is None
    assert view.regions() == {"310000", "330000", "510000", "500000"}
    assert view.applicant_subject_hash is None
    empty = case_view_from_json({})
    assert (empty.status, empty.item_code, empty.regions()) == ("", "", frozenset())


def _directory(handler: Any, cache: float = 0.0) -> tuple[HttpCaseDirectory, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth2/token":
            assert request.headers["authorization"].startswith("Basic ")
            return httpx.Response(200, json={"access_token": "svc-token", "expires_in": 300})
        return handler(request)  # type: ignore[no-any-return]

    client = httpx.AsyncClient(transport=httpx.MockTransport(route))
    tokens = ServiceTokenProvider(
        "http://identity/oauth2/token", "svc-exchange", "s", "cases:read", client=client
    )
    return HttpCaseDirectory("http://case", tokens, client, cache_seconds=cache), seen


async def test_asks_with_the_service_token_and_maps_404_to_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer svc-token"
        if request.url.path.endswith("/known"):
            return httpx.Response(200, json={"id": "known", "status": "accepted", "item_code": "X"})
        return httpx.Response(404, json={"code": "not-found"})

    directory, seen = _directory(handler)
    assert (await directory.get_case("known")) is not None
    assert await directory.get_case("unknown") is None
    assert seen[1].url.path == "/v1/cases/known"


@pytest.mark.parametrize("status", [500, 403])
async def test_errors_are_case_service_unavailable(status: int) -> None:
    directory, _ = _directory(lambda request: httpx.Response(status))
    with pytest.raises(CaseServiceUnavailable):
        await directory.get_case("c")


async def test_unreachable_case_service() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    directory, _ = _directory(handler)
    with pytest.raises(CaseServiceUnavailable):
        await directory.get_case("c")


async def test_concurrent_lookups_share_one_call_and_answers_are_cached() -> None:
    calls = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return httpx.Response(200, json={"id": "c", "status": "accepted", "item_code": "X"})

    seen: list[httpx.Request] = []

    async def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        return await slow(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(route))
    tokens = ServiceTokenProvider(
        "http://identity/oauth2/token", "svc-exchange", "s", "cases:read", client=client
    )
    directory = HttpCaseDirectory("http://case", tokens, client, cache_seconds=30)
    views = await asyncio.gather(*(directory.get_case("c") for _ in range(5)))
    assert all(v is not None and v.id == "c" for v in views)
    assert await directory.get_case("c") is not None
    assert calls == 1


async def test_a_case_in_use_late_in_its_cache_life_is_refreshed_in_the_background() -> None:
    statuses = iter(["accepted", "concluded"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "c", "status": next(statuses), "item_code": "X"})

    directory, seen = _directory(handler, cache=30)
    directory.refresh_seconds = 0.0  # every hit is late enough to refresh
    first = await directory.get_case("c")
    again = await directory.get_case("c")  # answered from the cache, refresh started
    assert first is not None and again is not None and again.status == "accepted"
    await directory.refreshed()
    later = await directory.get_case("c")
    assert later is not None and later.status == "concluded"
    assert [r.url.path for r in seen].count("/v1/cases/c") == 2


async def test_a_failed_background_refresh_keeps_the_cached_answer_until_it_expires() -> None:
    answers = iter([httpx.Response(200, json={"id": "c", "status": "accepted", "item_code": "X"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(503))

    directory, _ = _directory(handler, cache=30)
    directory.refresh_seconds = 0.0
    assert await directory.get_case("c") is not None
    assert await directory.get_case("c") is not None
    await directory.refreshed()
    view = await directory.get_case("c")
    assert view is not None and view.status == "accepted"
    await directory.refreshed()


async def test_an_unexpected_error_in_a_background_refresh_stays_in_the_background() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("the client was closed")
        return httpx.Response(200, json={"id": "c", "status": "accepted", "item_code": "X"})

    directory, _ = _directory(handler, cache=30)
    directory.refresh_seconds = 0.0
    assert await directory.get_case("c") is not None
    assert await directory.get_case("c") is not None  # starts the refresh that fails
    await directory.refreshed()
    view = await directory.get_case("c")
    assert calls >= 2 and view is not None and view.status == "accepted"
    await directory.refreshed()

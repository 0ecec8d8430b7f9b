"""Helpers of the catalogue's API tests: a running app in-process, tokens, and request bodies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from catalogue_svc.api.deps import CLOCK_KEY
from catalogue_svc.config import Settings
from catalogue_svc.main import create_app
from fastapi import FastAPI
from tongban_kit.app import ServiceRuntime
from tongban_kit.testkeys import TokenMinter

AUDIENCE = "urn:tongban:catalogue"
# Nothing listens here: unit tests keep every event in the outbox, where they can be inspected.
NO_BROKER = "127.0.0.1:9"


@dataclass
class Catalogue:
    """A running catalogue app, a client on it and a token minter its verifier trusts."""

    app: FastAPI
    client: httpx.AsyncClient
    minter: TokenMinter

    @property
    def runtime(self) -> ServiceRuntime:
        """The app's runtime (database, settings, extras)."""
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    def token(self, scopes: str, *, region: str | None = None, client_id: str = "admin-dev") -> str:
        """An access token for the catalogue."""
        return self.minter.mint(scopes, audience=AUDIENCE, client_id=client_id, region=region)

    def auth(
        self, scopes: str = "catalogue:write", *, region: str | None = None, **headers: str
    ) -> dict[str, str]:
        """Authorization (plus any extra) headers."""
        client_id = f"platform-{region}" if region else "admin-dev"
        return {
            "Authorization": f"Bearer {self.token(scopes, region=region, client_id=client_id)}",
            **headers,
        }

    def writer(self, etag: str | None = None, **headers: str) -> dict[str, str]:
        """Headers of a catalogue:write caller, with If-Match when an ETag is given."""
        if etag is not None:
            headers["If-Match"] = etag
        return self.auth("catalogue:write", **headers)

    def set_clock(self, clock: Any) -> None:
        """Install a clock for the handlers (None restores the real one)."""
        if clock is None:
            self.runtime.extras.pop(CLOCK_KEY, None)
        else:
            self.runtime.extras[CLOCK_KEY] = clock


@contextlib.asynccontextmanager
async def running_catalogue(database_url: str, **settings: Any) -> AsyncIterator[Catalogue]:
    """Start the app (migrations and seed on start) on a database and yield a client for it."""
    options: dict[str, Any] = {"env": "test", "database_url": database_url, "kafka_bootstrap": NO_BROKER}
    options.update(settings)
    app = create_app(Settings(**options))
    async with LifespanManager(app, startup_timeout=60) as manager:
        minter = TokenMinter()
        app.state.runtime.verifier.set_keys(minter.jwks)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalogue") as client:
            yield Catalogue(app, client, minter)


def item_body(basic_code: str = "XK00090000", **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/items body (licensing, proxy and joint); overrides replace top-level fields."""
    body: dict[str, Any] = {
        "basic_code": basic_code,
        "name": "测试迁居登记",
        "item_type": "licensing",
        "ministry": "公安部",
        "legal_basis": [{"law": "中华人民共和国户口登记条例", "article": "第十条"}],
        "audience": ["natural_person"],
        "acceptance_conditions": ["符合迁入地落户政策"],
        "materials": [
            {
                "code": "M01",
                "name": "居民户口簿",
                "required": True,
                "originals": 1,
                "copies": 1,
                "licence_types": ["household_register"],
                "exchange_fetchable": True,
                "exchange_domain": "household-registration",
            },
            {"code": "M02", "name": "结婚证", "required": False, "condition": "夫妻投靠的"},
        ],
        "process_steps": [{"name": "申请"}, {"name": "审核", "description": "迁入地审核"}],
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "suspension": {"allowed": False, "max_days": None},
        "extension": {"allowed": True, "max_days": 10},
        "result": {"type": "licence", "name": "居民户口簿", "licence_type": "household_register"},
        "modes": ["proxy", "joint"],
        "joint_roles": {"move_in": "迁入地", "move_out": "迁出地"},
    }
    body.update(overrides)
    return body


WEIGHTS = (1, 4, 5, 16, 17, 20, 21, 32, 37)


async def check_bounded_search_is_exact(session_factory: Any, *, seed: int, items: int = 400) -> int:
    """Fill search_tokens with random rows and check every search path against the plain aggregate.

    Few tokens with skewed, heavily tied weights make the heads of the rank lists overlap and the
    bound both succeed and fail, so the proof and the fallback are both exercised. Returns how many
    pages were compared.
    """
    import random

    from catalogue_svc.adapters.orm import ItemRow, SearchTokenRow
    from catalogue_svc.adapters.repository import ItemFilters
    from catalogue_svc.adapters.search_index import ScoredKey, SqlSearchIndex
    from sqlalchemy import delete, insert

    rnd = random.Random(seed)
    vocabulary = [f"t{n}" for n in range(8)]
    codes = [f"ZZ{n:05d}000" for n in range(1, items + 1)]  # no real code uses ZZ
    rows = []
    for code in codes:
        for token in vocabulary:
            if rnd.random() < (0.9 if token in ("t0", "t1") else 0.3):
                weight = rnd.choice(WEIGHTS[:3]) if rnd.random() < 0.8 else rnd.choice(WEIGHTS)
                rows.append({"token": token, "basic_code": code, "version": 1, "fields": 1, "weight": weight})
    async with session_factory() as session:
        await session.execute(delete(SearchTokenRow))
        await session.execute(delete(ItemRow).where(ItemRow.basic_code.in_(codes)))
        await session.execute(
            insert(ItemRow),
            [
                {
                    "basic_code": c,
                    "revision": 1,
                    "current_version": 1,
                    "name": c,
                    "item_type": "licensing",
                    "ministry": "m",
                    "mode_online": n % 3 == 0,
                    "mode_proxy": True,
                    "mode_joint": False,
                    "audience_natural": True,
                    "audience_legal": False,
                }
                for n, c in enumerate(codes)
            ],
        )
        await session.execute(insert(SearchTokenRow), rows)
        await session.commit()
    compared = 0
    async with session_factory() as session:
        index = SqlSearchIndex(session)
        for _ in range(40):
            tokens = rnd.sample(vocabulary, rnd.choice((1, 2, 2, 3)))
            filters = ItemFilters() if rnd.random() < 0.7 else ItemFilters(mode="online")  # type: ignore[arg-type]
            limit = rnd.choice((1, 5, 21))
            after: ScoredKey | None = None
            for _page in range(3):
                got = await index.search_items(tokens, filters, after=after, limit=limit)
                expected = [
                    (r.basic_code, s) for r, s in await index._aggregate(tokens, filters, after, limit)
                ]
                assert [(r.basic_code, s) for r, s in got] == expected, (tokens, after)
                compared += 1
                if len(expected) < limit:
                    break
                after = ScoredKey(*expected[-1])
        await session.rollback()
    return compared

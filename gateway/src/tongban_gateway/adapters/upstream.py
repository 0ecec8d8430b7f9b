"""Pooled HTTP clients for upstream services behind one small interface (aiohttp or httpx)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Literal, Protocol

import aiohttp
import httpx
from yarl import URL

Body = bytes | AsyncIterator[bytes] | None
Headers = list[tuple[str, str]]

# uvicorn closes idle connections after 5 s; dropping ours first avoids reusing one it just closed.
KEEPALIVE_SECONDS = 4.0


class UpstreamError(Exception):
    """The upstream could not be used; subclasses say how."""


class UpstreamConnectError(UpstreamError):
    """No connection, or it broke before a response head arrived."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer in time."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered with something that is not HTTP we can relay."""


class UpstreamResponse(Protocol):
    """A response whose head has arrived and whose body is still on the wire."""

    status: int

    @property
    def raw_headers(self) -> Sequence[tuple[bytes, bytes]]:
        """The response head's headers as received."""

    @property
    def content_length(self) -> int | None:
        """The announced body length, if any."""

    async def read(self) -> bytes:
        """The whole body."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""

    def release(self) -> None:
        """Give the connection back (or drop it if the body was not read to its end)."""


class UpstreamClient(Protocol):
    """One pooled client per upstream service."""

    async def send(
        self, method: str, url: str, headers: Headers, body: Body, read_timeout: float
    ) -> UpstreamResponse:
        """Send a request and return once the response head has arrived."""

    async def close(self) -> None:
        """Close every pooled connection."""


# --- aiohttp ------------------------------------------------------------------------------------


class _AiohttpResponse:
    """Adapter over aiohttp's ClientResponse."""

    __slots__ = ("_resp", "raw_headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.raw_headers = resp.raw_headers

    @property
    def content_length(self) -> int | None:
        return self._resp.content_length

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc

    def release(self) -> None:
        self._resp.release()


class AiohttpUpstream:
    """aiohttp ClientSession: no cookie jar (responses belong to different callers), no decompression."""

    def __init__(self, pool_size: int, connect_timeout: float) -> None:
        connector = aiohttp.TCPConnector(
            limit=pool_size * 4, limit_per_host=pool_size, keepalive_timeout=KEEPALIVE_SECONDS
        )
        self._connect_timeout = connect_timeout
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
        )
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _timeout(self, read_timeout: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(read_timeout)
        if timeout is None:
            # connect: waiting for a pooled connection plus connecting; sock_read: the wait for the
            # response head and between body reads. Both end in UpstreamTimeout (504).
            timeout = aiohttp.ClientTimeout(
                total=None, connect=read_timeout, sock_connect=self._connect_timeout, sock_read=read_timeout
            )
            self._timeouts[read_timeout] = timeout
        return timeout

    async def send(
        self, method: str, url: str, headers: Headers, body: Body, read_timeout: float
    ) -> UpstreamResponse:
        try:
            resp = await self._session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=self._timeout(read_timeout),
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(str(exc) or "timed out") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise UpstreamConnectError(str(exc) or type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc
        return _AiohttpResponse(resp)

    async def close(self) -> None:
        await self._session.close()


# --- httpx (native pool or the httpx-aiohttp transport) -----------------------------------------


class _HttpxResponse:
    """Adapter over a streamed httpx.Response."""

    __slots__ = ("_client", "_resp", "raw_headers", "status")

    def __init__(self, resp: httpx.Response) -> None:
        self._resp = resp
        self.status = resp.status_code
        self.raw_headers = resp.headers.raw

    @property
    def content_length(self) -> int | None:
        value = self._resp.headers.get("content-length")
        return int(value) if value and value.isdigit() else None

    async def read(self) -> bytes:
        try:
            return await self._resp.aread()
        except httpx.HTTPError as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc
        finally:
            await self._resp.aclose()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc
        finally:
            await self._resp.aclose()

    def release(self) -> None:
        if not self._resp.is_closed:
            # Closing is async in httpx; schedule it so release() stays synchronous like aiohttp's.
            task = asyncio.get_running_loop().create_task(self._resp.aclose())
            _pending.add(task)
            task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


class HttpxUpstream:
    """httpx.AsyncClient, with its own pool or with the aiohttp transport."""

    def __init__(self, pool_size: int, connect_timeout: float, use_aiohttp: bool = False) -> None:
        limits = httpx.Limits(
            max_connections=pool_size, max_keepalive_connections=pool_size, keepalive_expiry=KEEPALIVE_SECONDS
        )
        transport: httpx.AsyncBaseTransport | None = None
        if use_aiohttp:
            from httpx_aiohttp import AiohttpTransport

            def session() -> aiohttp.ClientSession:
                return aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=pool_size, keepalive_timeout=KEEPALIVE_SECONDS),
                    cookie_jar=aiohttp.DummyCookieJar(),
                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                )

            transport = AiohttpTransport(limits=limits, client=session)
        self._client = httpx.AsyncClient(
            limits=limits,
            transport=transport,
            timeout=httpx.Timeout(connect=connect_timeout, read=None, write=None, pool=None),
            follow_redirects=False,
            trust_env=False,
        )
        # The gateway relays the caller's headers; httpx's defaults would add or replace some.
        self._client.headers.clear()
        # The gateway propagates trace context itself; a second client span per request is waste.
        try:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor.uninstrument_client(self._client)
        except ImportError:  # pragma: no cover - instrumentation is a kit dependency
            pass
        self._connect_timeout = connect_timeout

    async def send(
        self, method: str, url: str, headers: Headers, body: Body, read_timeout: float
    ) -> UpstreamResponse:
        timeout = httpx.Timeout(
            connect=self._connect_timeout, read=read_timeout, write=None, pool=read_timeout
        )
        request = self._client.build_request(method, url, headers=headers, content=body, timeout=timeout)
        try:
            resp = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc) or "timed out") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise UpstreamConnectError(str(exc) or type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise UpstreamProtocolError(str(exc) or type(exc).__name__) from exc
        return _HttpxResponse(resp)

    async def close(self) -> None:
        await self._client.aclose()


def make_client(
    kind: Literal["aiohttp", "httpx", "httpx-aiohttp"], pool_size: int, connect_timeout: float
) -> UpstreamClient:
    """The configured client implementation."""
    if kind == "aiohttp":
        return AiohttpUpstream(pool_size, connect_timeout)
    return HttpxUpstream(pool_size, connect_timeout, use_aiohttp=kind == "httpx-aiohttp")

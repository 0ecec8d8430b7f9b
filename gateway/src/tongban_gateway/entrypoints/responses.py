"""Sending whole responses and problem documents straight over ASGI."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import Send
from tongban_kit.problems import PROBLEM_JSON, Problem

RawHeaders = list[tuple[bytes, bytes]]


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """A complete response in two ASGI messages."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, doc: object, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """A JSON response."""
    await send_bytes(send, status, orjson.dumps(doc), b"application/json", headers)


async def send_problem(
    send: Send, problem: Problem, instance: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """An RFC 9457 problem response (the problem's own headers first)."""
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()]
    await send_bytes(
        send, problem.status, orjson.dumps(problem.body(instance)), PROBLEM_JSON.encode(), [*extra, *headers]
    )

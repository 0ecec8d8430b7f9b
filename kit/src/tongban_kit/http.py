"""HTTP conventions: ETags and If-Match, keyset pagination cursors."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict

from tongban_kit.problems import Problem

T = TypeVar("T")


def etag_for(resource_id: str, version: int) -> str:
    """A strong ETag for one version of a resource."""
    return f'"{resource_id}-v{version}"'


def require_if_match(request: Request, current_etag: str) -> None:
    """Enforce optimistic concurrency: 428 without If-Match, 412 when it is stale."""
    given = request.headers.get("if-match")
    if not given:
        raise Problem(
            428, "if-match-required", "This request changes a resource: send If-Match with its ETag."
        )
    candidates = [c.strip().removeprefix("W/") for c in given.split(",")]
    if "*" not in candidates and current_etag not in candidates:
        raise Problem(
            412,
            "stale-etag",
            "The resource changed since you read it; read it again and retry with its new ETag.",
            extra={"current_etag": current_etag},
        )


def expected_version(request: Request, resource_id: str) -> int | None:
    """The version named by If-Match, for a conditional UPDATE; None for ``*``."""
    given = request.headers.get("if-match", "").strip().removeprefix("W/").strip('"')
    prefix = f"{resource_id}-v"
    if given.startswith(prefix) and given[len(prefix) :].isdigit():
        return int(given[len(prefix) :])
    return None


def encode_cursor(values: dict[str, Any]) -> str:
    """Encode the keyset position after the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Decode a cursor made by ``encode_cursor``; a malformed one is a 400 problem."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "bad-cursor", "The cursor is not one this service issued.") from exc
    if not isinstance(value, dict):
        raise Problem(400, "bad-cursor", "The cursor is not one this service issued.")
    return value


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list."""

    model_config = ConfigDict(extra="forbid")

    items: list[T]
    next_cursor: str | None = None

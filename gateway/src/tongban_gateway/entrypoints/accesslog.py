"""The access log: one JSON line per request, written in small batches off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from typing import Any

import orjson


class AccessLog:
    """Buffers lines and writes them at most ``interval`` seconds later (or when 64 KiB collect).

    A structlog call with its JSON renderer cost several times more per request than this, and one
    write per batch instead of per line keeps syscalls off the hot path under load.
    """

    def __init__(self, service: str, fd: int = 1, interval: float = 0.05, max_bytes: int = 65_536) -> None:
        self.service = service
        self.fd = fd
        self.interval = interval
        self.max_bytes = max_bytes
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    def write(self, fields: dict[str, Any]) -> None:
        """Queue one line; ``fields`` gains the event name, level, service and a UTC timestamp."""
        fields["event"] = "request"
        fields["service"] = self.service
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC)
        line = orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z)
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self.max_bytes:
            self.flush()
        elif self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: flushed by the next write or close
                self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Write what is queued."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = memoryview(b"".join(self._lines))
        self._lines.clear()
        self._size = 0
        with contextlib.suppress(OSError):  # a closed stdout must not fail requests
            while data:
                data = data[os.write(self.fd, data) :]

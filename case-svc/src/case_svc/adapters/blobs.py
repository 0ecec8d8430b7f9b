"""Content-addressed blob store for uploaded materials: filesystem by default, S3-compatible in production."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 64 * 1024


class BlobNotFound(Exception):
    """No blob with that digest is stored."""


class BlobStore(Protocol):
    """Stores bytes under their SHA-256; equal content is stored once."""

    async def put(self, data: bytes) -> str:
        """Store the bytes and return their lowercase hex SHA-256."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether the digest is stored."""
        ...

    def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; BlobNotFound when absent."""
        ...


def check_digest(sha256: str) -> str:
    """A digest as stored: 64 lowercase hex characters (also keeps paths safe)."""
    value = sha256.lower()
    if not _SHA_RE.match(value):
        raise ValueError("a SHA-256 digest is 64 hex characters")
    return value


class FilesystemBlobStore:
    """Blobs as files ``<root>/<aa>/<bb>/<sha256>``, written atomically (temp file then rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where a digest lives."""
        digest = check_digest(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> str:
        """Store and return the digest."""
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, digest, data)
        return digest

    def _write(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    async def exists(self, sha256: str) -> bool:
        """Whether the digest is stored."""
        return await asyncio.to_thread(self.path(sha256).is_file)

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """Read the blob in chunks."""
        path = self.path(sha256)
        if not await asyncio.to_thread(path.is_file):
            raise BlobNotFound(sha256)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while True:
                chunk = await asyncio.to_thread(handle.read, CHUNK)
                if not chunk:
                    break
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)


class S3BlobStore:
    """The production adapter's shape: objects ``<prefix><sha256>`` in an S3-compatible bucket.

    Left as an interface: deployments wire a client (e.g. aioboto3 or MinIO's SDK) here; it must put
    with ``If-None-Match: *`` so equal content is written once, and stream with ranged GETs.
    """

    def __init__(self, endpoint: str, bucket: str, prefix: str = "materials/") -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix

    def key(self, sha256: str) -> str:
        """Object key of a digest."""
        return self.prefix + check_digest(sha256)

    async def put(self, data: bytes) -> str:
        """Not wired in this build."""
        raise NotImplementedError("configure an S3 client for CASE_BLOB_STORE=s3")

    async def exists(self, sha256: str) -> bool:
        """Not wired in this build."""
        raise NotImplementedError("configure an S3 client for CASE_BLOB_STORE=s3")

    def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """Not wired in this build."""
        raise NotImplementedError("configure an S3 client for CASE_BLOB_STORE=s3")

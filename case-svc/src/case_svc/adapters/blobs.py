"""Content-addressed blob store for uploaded materials: filesystem by default, S3-compatible in production."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 64 * 1024


class BlobNotFound(Exception):
    """No blob with that digest is stored."""


class BlobCorrupt(Exception):
    """Bytes did not match their digest on the way to or from the store."""


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

    async def aclose(self) -> None:
        """Release connections (on shutdown)."""
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

    async def aclose(self) -> None:
        """Nothing to release: files are opened per read."""

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
    """Blobs as objects ``<prefix><sha256>`` in a bucket of an S3-compatible server (aiobotocore).

    A put first asks whether the object exists (equal content is not sent twice), then writes with
    ``If-None-Match: *`` so two replicas racing on the same content leave one object; the SHA-256 is
    sent as ``x-amz-checksum-sha256`` so the server refuses bytes damaged on the way. A stream
    recomputes the digest and raises BlobCorrupt at the end if the stored bytes do not match it.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "materials/",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: str = "auto",
        timeout_seconds: float = 10.0,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 blob store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url or None
        self.region = region
        self._access_key = access_key or None
        self._secret_key = secret_key or None
        self._config = Config(
            s3={"addressing_style": addressing_style},
            # Only checksums we send ourselves: the SDK's default CRC32 trailers (aws-chunked bodies)
            # are refused by several S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"mode": "standard", "max_attempts": 3},
        )
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    def key(self, sha256: str) -> str:
        """Object key of a digest."""
        return self.prefix + check_digest(sha256)

    async def client(self) -> Any:
        """The S3 client, opened on first use and kept (it pools its connections)."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        config=self._config,
                    )
                )
                self._stack = stack
        return self._client

    async def aclose(self) -> None:
        """Close the client and its connections (call on shutdown)."""
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    async def put(self, data: bytes) -> str:
        """Store unless already stored and return the digest."""
        digest = hashlib.sha256(data)
        hex_digest = digest.hexdigest()
        key = self.key(hex_digest)
        if await self._head(key):
            return hex_digest
        await self.put_object(key, data, base64.b64encode(digest.digest()).decode("ascii"))
        return hex_digest

    async def put_object(self, key: str, data: bytes, checksum_sha256: str) -> None:
        """Write one object unless it exists, with the given base64 SHA-256 for the server to check."""
        client = await self.client()
        # 409 is S3's answer to a conditional write racing another one on the same key: try again.
        for attempt in range(3):
            try:
                response = await client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ChecksumSHA256=checksum_sha256,
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                status = _status(exc)
                if status == 412:  # stored meanwhile by another writer: the same bytes by construction
                    return
                if status == 409 and attempt < 2:
                    continue
                if _code(exc) in _DIGEST_ERRORS:
                    raise BlobCorrupt(f"the server refused {key}: {_code(exc)}") from exc
                raise
            echoed = response.get("ChecksumSHA256")
            if echoed is not None and echoed != checksum_sha256:
                raise BlobCorrupt(f"the server stored {key} with checksum {echoed}")
            return

    async def exists(self, sha256: str) -> bool:
        """Whether the digest is stored."""
        return await self._head(self.key(sha256))

    async def _head(self, key: str) -> bool:
        client = await self.client()
        try:
            await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """Read the object in chunks, checking its digest as it goes."""
        digest = check_digest(sha256)
        client = await self.client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=self.prefix + digest)
        except ClientError as exc:
            if _status(exc) == 404 or _code(exc) in ("NoSuchKey", "NotFound"):
                raise BlobNotFound(sha256) from exc
            raise
        hasher = hashlib.sha256()
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK):
                hasher.update(chunk)
                yield chunk
        if hasher.hexdigest() != digest:
            raise BlobCorrupt(f"the stored bytes of {digest} hash to {hasher.hexdigest()}")


# Codes a server gives when the bytes it received do not match the checksum or digest sent with them.
_DIGEST_ERRORS = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"})


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

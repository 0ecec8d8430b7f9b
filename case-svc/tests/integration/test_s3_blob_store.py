"""The S3 blob store against a real S3-compatible server (deploy/local/s3.py: Versity S3 Gateway).

The server is started by the script when it is not running; when it cannot be started the tests fail
rather than skip. Each run works in a bucket of its own, removed at the end.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from case_api import CaseApp, case_body
from case_factories import HANDLING, RECEIVING
from case_svc.adapters.blobs import CHUNK, BlobCorrupt, BlobNotFound, S3BlobStore
from case_svc.config import Settings
from case_svc.main import make_blob_store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "deploy" / "local" / "s3.py"
# The local server's address and root keys (deploy/local/s3.py); the TONGBAN_S3_* variables name another.
ENDPOINT = os.environ.get("TONGBAN_S3_ENDPOINT") or "http://127.0.0.1:29000"
ACCESS_KEY = os.environ.get("TONGBAN_S3_ACCESS_KEY") or "tongban-dev"
SECRET_KEY = os.environ.get("TONGBAN_S3_SECRET_KEY") or "tongban-dev-secret"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"s3" * 300


@pytest.fixture(scope="module")
def s3_server() -> str:
    """Make sure the S3 server answers; fail (never skip) when it cannot be had."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "ensure"], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"the S3 server is not available ({SCRIPT} ensure):\n{result.stdout}{result.stderr}")
    return ENDPOINT


def new_store(bucket: str, prefix: str) -> S3BlobStore:
    return S3BlobStore(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=ENDPOINT,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        addressing_style="path",
    )


@pytest.fixture(scope="module")
async def bucket(s3_server: str) -> AsyncIterator[str]:
    """A bucket for this run; emptied and removed afterwards."""
    name = f"tb-case-{uuid.uuid4().hex[:12]}"
    admin = new_store(name, "")
    client = await admin.client()
    await client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        listed = await client.list_objects_v2(Bucket=name)
        for item in listed.get("Contents", []):
            await client.delete_object(Bucket=name, Key=item["Key"])
        await client.delete_bucket(Bucket=name)
        await admin.aclose()


@pytest.fixture
async def store(bucket: str) -> AsyncIterator[S3BlobStore]:
    """A store under a prefix of its own, so each test sees only its objects."""
    blobs = new_store(bucket, f"t{uuid.uuid4().hex[:8]}/")
    yield blobs
    await blobs.aclose()


async def keys(blobs: S3BlobStore) -> list[str]:
    client = await blobs.client()
    listed = await client.list_objects_v2(Bucket=blobs.bucket, Prefix=blobs.prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


async def read_all(blobs: S3BlobStore, digest: str) -> list[bytes]:
    return [chunk async for chunk in blobs.stream(digest)]


async def test_put_exists_and_stream_round_trip(store: S3BlobStore) -> None:
    data = os.urandom(3 * CHUNK + 123)
    digest = await store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert await store.exists(digest)
    assert await store.exists(digest.upper())
    chunks = await read_all(store, digest)
    assert b"".join(chunks) == data
    assert len(chunks) > 1 and all(len(c) <= CHUNK for c in chunks)
    # Content-addressed: the object key is the prefix plus the digest.
    assert await keys(store) == [store.prefix + digest]


async def test_equal_content_is_stored_once(store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"the same scan, uploaded twice"
    first = await store.put(data)
    writes: list[str] = []
    original = store.put_object

    async def counting(key: str, body: bytes, checksum: str) -> None:
        writes.append(key)
        await original(key, body, checksum)

    monkeypatch.setattr(store, "put_object", counting)
    assert await store.put(data) == first
    assert writes == []  # the existence check found it: the bytes were not sent again
    assert await keys(store) == [store.prefix + first]


async def test_a_racing_second_write_is_refused_by_the_server_and_not_an_error(store: S3BlobStore) -> None:
    data = b"two replicas store the same material at once"
    key = store.key(hashlib.sha256(data).hexdigest())
    await store.put_object(key, data, base64.b64encode(hashlib.sha256(data).digest()).decode())
    # Past the existence check, a second write of the key is conditional (If-None-Match: *): the
    # server answers 412 and keeps the first object. Other bytes make an overwrite visible here.
    other = b"bytes that must not replace the first object"
    await store.put_object(key, other, base64.b64encode(hashlib.sha256(other).digest()).decode())
    client = await store.client()
    kept = await client.get_object(Bucket=store.bucket, Key=key)
    async with kept["Body"] as body:
        assert await body.read() == data
    assert await keys(store) == [key]


async def test_a_missing_digest_is_not_found(store: S3BlobStore) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(absent)
    with pytest.raises(BlobNotFound):
        await read_all(store, absent)


async def test_malformed_digests_are_refused_before_any_request(store: S3BlobStore) -> None:
    for bad in ("abc", "../" + "a" * 61, "g" * 64):
        with pytest.raises(ValueError, match="64 hex"):
            await store.exists(bad)
        with pytest.raises(ValueError, match="64 hex"):
            await read_all(store, bad)


async def test_the_server_refuses_bytes_that_do_not_match_their_checksum(store: S3BlobStore) -> None:
    data = b"a scan damaged on the way"
    digest = hashlib.sha256(data).hexdigest()
    wrong = base64.b64encode(hashlib.sha256(b"what the sender hashed").digest()).decode()
    with pytest.raises(BlobCorrupt):
        await store.put_object(store.key(digest), data, wrong)
    assert not await store.exists(digest)
    assert await keys(store) == []


async def test_stored_bytes_that_do_not_match_their_key_fail_the_stream(store: S3BlobStore) -> None:
    claimed = hashlib.sha256(b"the original").hexdigest()
    client = await store.client()
    # Written past the store (as a faulty copy or a hand edit would), under another content's key.
    await client.put_object(Bucket=store.bucket, Key=store.key(claimed), Body=b"something else")
    with pytest.raises(BlobCorrupt):
        await read_all(store, claimed)


def test_settings_build_an_s3_store(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CASE_BLOB_STORE": "s3",
        "CASE_S3_ENDPOINT_URL": ENDPOINT,
        "CASE_S3_BUCKET": "tb-somewhere",
        "CASE_S3_PREFIX": "scans/",
        "CASE_S3_ACCESS_KEY": ACCESS_KEY,
        "CASE_S3_SECRET_KEY": SECRET_KEY,
        "CASE_S3_ADDRESSING_STYLE": "path",
    }.items():
        monkeypatch.setenv(name, value)
    blobs = make_blob_store(Settings(env="test"))
    assert isinstance(blobs, S3BlobStore)
    assert (blobs.bucket, blobs.prefix, blobs.endpoint_url) == ("tb-somewhere", "scans/", ENDPOINT)


# --- through the API ------------------------------------------------------------------------------


@pytest.fixture
def s3_env(bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """CASE_* variables that point the app at the run's bucket (set before case_app starts it)."""
    prefix = f"api{uuid.uuid4().hex[:8]}/"
    for name, value in {
        "CASE_BLOB_STORE": "s3",
        "CASE_S3_ENDPOINT_URL": ENDPOINT,
        "CASE_S3_BUCKET": bucket,
        "CASE_S3_PREFIX": prefix,
        "CASE_S3_ACCESS_KEY": ACCESS_KEY,
        "CASE_S3_SECRET_KEY": SECRET_KEY,
        "CASE_S3_ADDRESSING_STYLE": "path",
    }.items():
        monkeypatch.setenv(name, value)
    return prefix


@pytest.fixture
async def s3_case_app(s3_env: str, case_app: CaseApp) -> AsyncIterator[CaseApp]:
    """The conftest's in-process app (SQLite), its materials in the S3 bucket."""
    blobs = case_app.services.blobs
    assert isinstance(blobs, S3BlobStore) and blobs.prefix == s3_env
    yield case_app
    await blobs.aclose()


async def upload(app: CaseApp, case_id: str, data: bytes) -> httpx.Response:
    return await app.client.post(
        f"/v1/cases/{case_id}/materials",
        headers=app.platform(RECEIVING).headers(),
        data={"material_code": "M02"},
        files={"file": ("scan.pdf", data, "application/pdf")},
    )


async def test_a_material_uploaded_through_the_api_lands_in_s3_and_downloads(s3_case_app: CaseApp) -> None:
    app = s3_case_app
    resp = await app.platform(RECEIVING).post("/v1/cases", case_body())
    assert resp.status_code == 201, resp.text
    case: dict[str, Any] = resp.json()
    stored = await upload(app, case["id"], PDF)
    assert stored.status_code == 201, stored.text
    digest = stored.json()["sha256"]
    assert digest == hashlib.sha256(PDF).hexdigest()
    blobs = app.services.blobs
    assert isinstance(blobs, S3BlobStore)
    assert await keys(blobs) == [blobs.prefix + digest]
    # The same scan again (another material row) adds no second object.
    assert (await upload(app, case["id"], PDF)).status_code == 201
    assert await keys(blobs) == [blobs.prefix + digest]
    content = f"/v1/cases/{case['id']}/materials/{stored.json()['id']}/content"
    download = await app.platform(HANDLING).get(content)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    # Content gone from the bucket: the API answers 404 blob-missing, not a server error.
    client = await blobs.client()
    await client.delete_object(Bucket=blobs.bucket, Key=blobs.key(digest))
    gone = await app.platform(HANDLING).get(content)
    assert gone.status_code == 404 and gone.json()["code"] == "blob-missing"

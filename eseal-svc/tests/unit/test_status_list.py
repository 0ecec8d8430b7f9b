"""Bitstring Status List encoding: bit order, GZIP + multibase base64url, limits and index allocation."""

from __future__ import annotations

import base64
import gzip

import pytest
from eseal_svc.domain.status_list import (
    MAX_DECODED_BYTES,
    Bitstring,
    BitstringError,
    pick_free_index,
)

SIZE = 131_072


def test_index_zero_is_the_leftmost_bit_of_the_first_byte() -> None:
    bits = Bitstring(16)
    bits.set(0)
    bits.set(9)
    assert bits.to_bytes() == bytes([0b1000_0000, 0b0100_0000])
    assert bits.get(0) and bits.get(9) and not bits.get(1)
    bits.set(0, False)
    assert bits.to_bytes() == bytes([0, 0b0100_0000])
    assert bits.count() == 1


def test_encoding_is_multibase_base64url_of_gzip_and_round_trips() -> None:
    bits = Bitstring(SIZE)
    for index in (0, 7, 8, 65_535, SIZE - 1):
        bits.set(index)
    encoded = bits.encode()
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded and "/" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bits.to_bytes() and len(raw) * 8 == SIZE
    decoded = Bitstring.decode(encoded)
    assert decoded.size == SIZE and decoded.to_bytes() == bits.to_bytes()
    # Deterministic: the same bits give the same text (zero mtime), so content tags are stable.
    assert Bitstring(SIZE, bits.to_bytes()).encode() == encoded


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "zabc",
        "u!!!",
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
        "u" + base64.urlsafe_b64encode(gzip.compress(b"")).decode(),
    ],
)
def test_malformed_encodings_are_refused(encoded: str) -> None:
    with pytest.raises(BitstringError):
        Bitstring.decode(encoded)


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(bytes(MAX_DECODED_BYTES + 8))
    with pytest.raises(BitstringError, match="allowed size"):
        Bitstring.decode("u" + base64.urlsafe_b64encode(bomb).decode().rstrip("="))


@pytest.mark.parametrize(("size", "data"), [(0, None), (12, None), (16, b"\x00")])
def test_bad_sizes_are_refused(size: int, data: bytes | None) -> None:
    with pytest.raises(BitstringError):
        Bitstring(size, data)


def test_indices_outside_the_list_are_refused() -> None:
    bits = Bitstring(8)
    with pytest.raises(BitstringError):
        bits.get(8)
    with pytest.raises(BitstringError):
        bits.set(-1)


def test_free_indices_are_spread_and_never_reused() -> None:
    allocated = Bitstring(SIZE)
    picked = set()
    for _ in range(200):
        index = pick_free_index(allocated)
        assert index not in picked
        allocated.set(index)
        picked.add(index)
    # Random allocation: issuance order is not the index order.
    assert max(picked) - min(picked) > SIZE // 4


def test_the_last_free_index_is_found_and_a_full_list_refused() -> None:
    allocated = Bitstring(64, b"\xff" * 7 + b"\xfe")
    assert pick_free_index(allocated) == 63
    allocated.set(63)
    with pytest.raises(BitstringError, match="handed out"):
        pick_free_index(allocated)

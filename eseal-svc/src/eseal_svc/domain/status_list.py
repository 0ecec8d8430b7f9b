"""W3C Bitstring Status List: a bitstring of credential statuses, GZIP-compressed and base64url-encoded.

Bit i is the i-th bit from the left of the byte string (index 0 is the most significant bit of the
first byte), as the specification numbers them. The encoding is multibase: "u" followed by
base64url without padding of the GZIP member, written with a zero mtime so that the same bits
always encode to the same text.
"""

from __future__ import annotations

import base64
import gzip
import secrets
import zlib

MULTIBASE_BASE64URL = "u"
# Decompressing more than this is refused: a hostile list could be a GZIP bomb.
MAX_DECODED_BYTES = 16 * 1_048_576


class BitstringError(ValueError):
    """An encoded list could not be decoded, or an index is outside the list."""


class Bitstring:
    """A mutable bitstring of a fixed number of entries (1 bit each)."""

    __slots__ = ("_bits", "size")

    def __init__(self, size: int, data: bytes | None = None) -> None:
        if size <= 0 or size % 8:
            raise BitstringError("a bitstring has a positive multiple of 8 entries")
        if data is not None and len(data) != size // 8:
            raise BitstringError("the data does not hold exactly size bits")
        self.size = size
        self._bits = bytearray(data if data is not None else size // 8)

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise BitstringError(f"index {index} is outside the list of {self.size} entries")

    def get(self, index: int) -> bool:
        """The bit at index."""
        self._check(index)
        return bool(self._bits[index >> 3] & (0x80 >> (index & 7)))

    def set(self, index: int, value: bool = True) -> None:
        """Set or clear the bit at index."""
        self._check(index)
        mask = 0x80 >> (index & 7)
        if value:
            self._bits[index >> 3] |= mask
        else:
            self._bits[index >> 3] &= ~mask & 0xFF

    def count(self) -> int:
        """How many bits are set."""
        return int.from_bytes(self._bits, "big").bit_count()

    def to_bytes(self) -> bytes:
        """The raw bytes (size / 8 of them)."""
        return bytes(self._bits)

    def encode(self) -> str:
        """The encodedList value: "u" + base64url (no padding) of the GZIP-compressed bits."""
        compressed = gzip.compress(bytes(self._bits), mtime=0)
        return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).decode().rstrip("=")

    @classmethod
    def decode(cls, encoded: str) -> Bitstring:
        """Read an encodedList value; BitstringError when it is not one."""
        if not encoded.startswith(MULTIBASE_BASE64URL):
            raise BitstringError('encodedList must be multibase base64url (start with "u")')
        body = encoded[1:]
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(compressed, MAX_DECODED_BYTES)
        except (ValueError, zlib.error) as exc:
            raise BitstringError("encodedList is not base64url of a GZIP member") from exc
        if decompressor.unconsumed_tail:
            raise BitstringError("encodedList decompresses to more than the allowed size")
        if not raw:
            raise BitstringError("encodedList is empty")
        return cls(len(raw) * 8, raw)


def pick_free_index(allocated: Bitstring) -> int:
    """A random entry not yet handed out, so an index does not reveal the order of issuance."""
    free = allocated.size - allocated.count()
    if free <= 0:
        raise BitstringError("every entry of the list has been handed out")
    # Random probes find a free entry quickly until the list is nearly full; then scan.
    for _ in range(64):
        candidate = secrets.randbelow(allocated.size)
        if not allocated.get(candidate):
            return candidate
    start = secrets.randbelow(allocated.size)
    for offset in range(allocated.size):
        candidate = (start + offset) % allocated.size
        if not allocated.get(candidate):
            return candidate
    raise BitstringError("every entry of the list has been handed out")  # pragma: no cover

"""Private keys encrypted at rest under a key-encryption key (KEK): SM4-GCM by default, or AES-256-GCM.

Blob layout, version 1 (all integers big-endian):

    magic "TBKW" | version 0x01 | algorithm (0x01 SM4-GCM, 0x02 AES-256-GCM)
    | KEK id length (1 byte) | KEK id (ASCII) | nonce (12 bytes) | ciphertext || tag (16 bytes)

The header and a caller-chosen context (for example the seal id) are authenticated as associated
data, so a blob cannot be replayed under another record or with an altered header.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eseal_svc.adapters.crypto.errors import KeyUnwrapError

MAGIC = b"TBKW"
VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
MAX_KEK_ID = 64


class WrapAlgorithm(enum.IntEnum):
    """AEAD used for a blob; the value is the algorithm byte in the header."""

    SM4_GCM = 1
    AES_256_GCM = 2

    @property
    def key_size(self) -> int:
        """KEK length in bytes."""
        return 16 if self is WrapAlgorithm.SM4_GCM else 32

    @classmethod
    def parse(cls, name: str) -> WrapAlgorithm:
        """From a configuration value such as "sm4-gcm" or "aes-256-gcm"."""
        normalized = name.strip().lower().replace("_", "-")
        for algorithm, label in ((cls.SM4_GCM, "sm4-gcm"), (cls.AES_256_GCM, "aes-256-gcm")):
            if normalized == label:
                return algorithm
        raise ValueError(f"unknown key-wrap algorithm {name!r}")


def _sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext + encryptor.tag


def _sm4_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    if len(data) < TAG_SIZE:
        raise InvalidTag
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, data[-TAG_SIZE:])).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(data[:-TAG_SIZE]) + decryptor.finalize()


@dataclass(frozen=True, slots=True)
class WrappedKeyHeader:
    """The clear part of a blob: which algorithm and which KEK sealed it."""

    algorithm: WrapAlgorithm
    kek_id: str
    header_size: int


def read_header(blob: bytes) -> WrappedKeyHeader:
    """Parse a blob's header (to pick the right KEK during rotation); KeyUnwrapError when malformed."""
    if len(blob) < 7 or blob[:4] != MAGIC:
        raise KeyUnwrapError("not a wrapped key")
    if blob[4] != VERSION:
        raise KeyUnwrapError(f"unsupported wrapped-key version {blob[4]}")
    try:
        algorithm = WrapAlgorithm(blob[5])
    except ValueError:
        raise KeyUnwrapError("unknown key-wrap algorithm") from None
    id_length = blob[6]
    end = 7 + id_length
    if len(blob) < end + NONCE_SIZE + TAG_SIZE:
        raise KeyUnwrapError("wrapped key is truncated")
    try:
        kek_id = blob[7:end].decode("ascii")
    except UnicodeDecodeError:
        raise KeyUnwrapError("KEK id is not ASCII") from None
    return WrappedKeyHeader(algorithm, kek_id, end)


@dataclass(frozen=True, slots=True)
class KeyWrapper:
    """Encrypts and decrypts private keys with one KEK."""

    kek: bytes = field(repr=False)
    algorithm: WrapAlgorithm = WrapAlgorithm.SM4_GCM
    kek_id: str = "default"

    def __post_init__(self) -> None:
        if len(self.kek) != self.algorithm.key_size:
            raise ValueError(f"{self.algorithm.name} needs a {self.algorithm.key_size}-byte KEK")
        if not self.kek_id.isascii() or not 0 < len(self.kek_id) <= MAX_KEK_ID:
            raise ValueError(f"KEK id must be 1 to {MAX_KEK_ID} ASCII characters")

    def _header(self) -> bytes:
        kek_id = self.kek_id.encode("ascii")
        return MAGIC + bytes((VERSION, self.algorithm.value, len(kek_id))) + kek_id

    def wrap(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        """Encrypt plaintext (a PKCS#8 key) under the KEK, binding it to context."""
        header = self._header()
        nonce = os.urandom(NONCE_SIZE)
        aad = header + context
        if self.algorithm is WrapAlgorithm.SM4_GCM:
            sealed = _sm4_gcm_encrypt(self.kek, nonce, plaintext, aad)
        else:
            sealed = AESGCM(self.kek).encrypt(nonce, plaintext, aad)
        return header + nonce + sealed

    def unwrap(self, blob: bytes, *, context: bytes = b"") -> bytes:
        """Decrypt a blob made by wrap with the same KEK and context; KeyUnwrapError otherwise."""
        header = read_header(blob)
        if header.algorithm is not self.algorithm or header.kek_id != self.kek_id:
            raise KeyUnwrapError("wrapped key was sealed with another KEK")
        nonce = blob[header.header_size : header.header_size + NONCE_SIZE]
        sealed = blob[header.header_size + NONCE_SIZE :]
        aad = blob[: header.header_size] + context
        try:
            if self.algorithm is WrapAlgorithm.SM4_GCM:
                return _sm4_gcm_decrypt(self.kek, nonce, sealed, aad)
            return AESGCM(self.kek).decrypt(nonce, sealed, aad)
        except InvalidTag:
            # Wrong KEK, wrong context and tampering are indistinguishable by design.
            raise KeyUnwrapError("wrapped key failed authentication") from None

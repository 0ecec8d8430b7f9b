"""Field encryption (SM4-GCM by default, AES-256-GCM selectable) and HMAC-SM3 subject hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac
import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes

CipherName = Literal["sm4-gcm", "aes-256-gcm"]
_TAGS: dict[str, bytes] = {"sm4-gcm": b"\x01", "aes-256-gcm": b"\x02"}
_NONCE = 12
_TAG_LEN = 16


class DecryptionError(ValueError):
    """A ciphertext could not be decrypted (wrong key or tampered)."""


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def derive_key(secret: str, purpose: str, length: int) -> bytes:
    """Derive a key of the given length from configured key material and a purpose label."""
    try:
        material = _b64decode(secret)
    except ValueError:
        material = secret.encode()
    if len(material) < 16:
        material = secret.encode()
    return hashlib.sha256(material + b"|" + purpose.encode()).digest()[:length]


class FieldCipher:
    """Encrypts personal data at rest; ciphertexts name their algorithm so keys and ciphers can rotate."""

    def __init__(self, secret: str, cipher: CipherName = "sm4-gcm") -> None:
        self.cipher = cipher
        self._keys = {
            "sm4-gcm": derive_key(secret, "field:sm4", 16),
            "aes-256-gcm": derive_key(secret, "field:aes", 32),
        }

    def _algorithm(self, name: str) -> CipherAlgorithm:
        key = self._keys[name]
        return algorithms.SM4(key) if name == "sm4-gcm" else algorithms.AES(key)

    def encrypt(self, plaintext: str, associated: bytes = b"") -> str:
        """Encrypt a string; the result is base64url text safe to store in a column."""
        nonce = os.urandom(_NONCE)
        enc = Cipher(self._algorithm(self.cipher), modes.GCM(nonce)).encryptor()
        if associated:
            enc.authenticate_additional_data(associated)
        body = enc.update(plaintext.encode()) + enc.finalize()
        blob = _TAGS[self.cipher] + nonce + body + enc.tag
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def decrypt(self, token: str, associated: bytes = b"") -> str:
        """Decrypt what ``encrypt`` produced, whichever supported cipher made it."""
        blob = _b64decode(token)
        names = {v: k for k, v in _TAGS.items()}
        name = names.get(blob[:1])
        if name is None or len(blob) < 1 + _NONCE + _TAG_LEN:
            raise DecryptionError("unknown ciphertext format")
        nonce, body, tag = blob[1 : 1 + _NONCE], blob[1 + _NONCE : -_TAG_LEN], blob[-_TAG_LEN:]
        dec = Cipher(self._algorithm(name), modes.GCM(nonce, tag)).decryptor()
        if associated:
            dec.authenticate_additional_data(associated)
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc


def subject_hash(identity_number: str, key: str) -> str:
    """HMAC-SM3 of the upper-cased identity number, hex: the one lookup hash of the mesh."""
    mac = crypto_hmac.HMAC(key.encode(), hashes.SM3())
    mac.update(identity_number.strip().upper().encode())
    return mac.finalize().hex()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return std_hmac.compare_digest(a.encode(), b.encode())

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


def parse_key_ring(secret: str) -> list[tuple[str, str]]:
    """Read ``kid:key,kid:key`` (the first encrypts, all decrypt); a bare key is key id ``k0``."""
    ring: list[tuple[str, str]] = []
    for part in (p.strip() for p in secret.split(",")):
        if not part:
            continue
        kid, sep, key = part.partition(":")
        ring.append((kid, key) if sep and kid and len(kid) <= 16 and key else ("k0", part))
    if not ring:
        raise ValueError("no field-encryption key configured")
    return ring


class FieldCipher:
    """Encrypts personal data at rest with a key ring, so keys and ciphers can rotate.

    A ciphertext names its algorithm and its key id; new data uses the first key of the ring, and
    older keys stay in the ring (after the first) until every row has been re-encrypted.
    """

    def __init__(self, secret: str, cipher: CipherName = "sm4-gcm") -> None:
        self.cipher = cipher
        self._ring = parse_key_ring(secret)
        self._active = self._ring[0][0]
        self._keys: dict[tuple[str, str], bytes] = {}
        for kid, material in self._ring:
            self._keys[(kid, "sm4-gcm")] = derive_key(material, "field:sm4", 16)
            self._keys[(kid, "aes-256-gcm")] = derive_key(material, "field:aes", 32)

    def _algorithm(self, kid: str, name: str) -> CipherAlgorithm:
        key = self._keys[(kid, name)]
        return algorithms.SM4(key) if name == "sm4-gcm" else algorithms.AES(key)

    @property
    def active_key_id(self) -> str:
        """The key id new ciphertexts carry."""
        return self._active

    def encrypt(self, plaintext: str, associated: bytes = b"") -> str:
        """Encrypt a string; the result is base64url text safe to store in a column."""
        nonce = os.urandom(_NONCE)
        enc = Cipher(self._algorithm(self._active, self.cipher), modes.GCM(nonce)).encryptor()
        if associated:
            enc.authenticate_additional_data(associated)
        body = enc.update(plaintext.encode()) + enc.finalize()
        kid = self._active.encode()
        blob = _TAGS[self.cipher] + bytes([len(kid)]) + kid + nonce + body + enc.tag
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def key_id_of(self, token: str) -> str:
        """Which key encrypted a ciphertext (to find rows still to re-encrypt)."""
        blob = _b64decode(token)
        return blob[2 : 2 + blob[1]].decode()

    def decrypt(self, token: str, associated: bytes = b"") -> str:
        """Decrypt what ``encrypt`` produced, whichever supported cipher and ring key made it."""
        try:
            blob = _b64decode(token)
        except ValueError as exc:
            raise DecryptionError("ciphertext is not base64url") from exc
        names = {v: k for k, v in _TAGS.items()}
        name = names.get(blob[:1])
        if name is None or len(blob) < 2:
            raise DecryptionError("unknown ciphertext format")
        kid_end = 2 + blob[1]
        kid = blob[2:kid_end].decode(errors="replace")
        if (kid, name) not in self._keys or len(blob) < kid_end + _NONCE + _TAG_LEN:
            raise DecryptionError("ciphertext was made with a key that is not in the ring")
        nonce = blob[kid_end : kid_end + _NONCE]
        body, tag = blob[kid_end + _NONCE : -_TAG_LEN], blob[-_TAG_LEN:]
        dec = Cipher(self._algorithm(kid, name), modes.GCM(nonce, tag)).decryptor()
        if associated:
            dec.authenticate_additional_data(associated)
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def reencrypt(self, token: str, associated: bytes = b"") -> str:
        """Re-encrypt under the active key and cipher (key rotation); unchanged if already current."""
        blob = _b64decode(token)
        if blob[:1] == _TAGS[self.cipher] and self.key_id_of(token) == self._active:
            return token
        return self.encrypt(self.decrypt(token, associated), associated)


def subject_hash(identity_number: str, key: str) -> str:
    """HMAC-SM3 of the upper-cased identity number, hex: the one lookup hash of the mesh."""
    mac = crypto_hmac.HMAC(key.encode(), hashes.SM3())
    mac.update(identity_number.strip().upper().encode())
    return mac.finalize().hex()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return std_hmac.compare_digest(a.encode(), b.encode())

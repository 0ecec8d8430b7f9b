"""Errors raised by the crypto adapters; none of them ever carries key material."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of crypto adapter failures."""


class KeyFormatError(CryptoError):
    """A key could not be decoded or is not of a supported algorithm."""


class CertificateError(CryptoError):
    """A certificate could not be decoded or built."""


class SesFormatError(CryptoError):
    """Bytes are not a GB/T 38540 v4 structure we can read."""


class KeyUnwrapError(CryptoError):
    """A wrapped key could not be decrypted: wrong key-encryption key, tampering or unknown format."""


# What asn1crypto raises on malformed input: it parses lazily and some universal types it decodes
# have no `native` form, so decoding garbage can surface as any of these.
ASN1_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, LookupError, AttributeError, OverflowError)

"""Keys at rest and in use: the hosted provinces' seal CAs and the seals' private keys.

Every private key is stored as a key-wrap blob bound to the record it belongs to (the AEAD context
names the CA or seal and the key's role), so a blob copied into another row does not unwrap.
Unwrapped seal keys are kept in a small in-process cache so that a stream of signing requests
does not pay the unwrap and key-consistency check every time; revoking a seal drops its entry.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from eseal_svc.adapters.crypto.ca import CertificateAuthority, DeploymentPki
from eseal_svc.adapters.crypto.keys import Signer, load_signer
from eseal_svc.adapters.crypto.keywrap import KeyWrapper
from eseal_svc.domain.errors import RegionNotHosted
from eseal_svc.domain.model import SealAlgorithm

DEFAULT_CACHE_SIZE = 256


def province_of(region: str) -> str:
    """The province-level GB/T 2260 code of a region code."""
    return region[:2] + "0000"


def _context(kind: str, record_id: str, role: str) -> bytes:
    return f"tongban-eseal:{kind}:{record_id}:{role}".encode()


@dataclass(frozen=True, slots=True)
class WrappedPki:
    """A CA's certificates and its wrapped keys, as stored."""

    root_certificate: bytes
    root_key: bytes = field(repr=False)
    maker_certificate: bytes = field(repr=False)
    maker_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class HostedPki:
    """A province's seal CA that runs in this deployment."""

    id: str
    pki: DeploymentPki


class Keyring:
    """Wraps and unwraps private keys with the KEK and knows the hosted seal CAs."""

    def __init__(self, wrapper: KeyWrapper, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._wrapper = wrapper
        self._pkis: dict[tuple[str, SealAlgorithm], HostedPki] = {}
        self._cache: OrderedDict[tuple[str, str, bytes], Signer] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- seal CAs --------------------------------------------------------------------------------

    def wrap_pki(self, pki_id: str, pki: DeploymentPki) -> WrappedPki:
        """The blobs to store for a new CA."""
        return WrappedPki(
            root_certificate=pki.root.certificate_der,
            root_key=self._wrapper.wrap(pki.root.signer.pkcs8_der(), context=_context("pki", pki_id, "root")),
            maker_certificate=pki.maker_certificate,
            maker_key=self._wrapper.wrap(pki.maker.pkcs8_der(), context=_context("pki", pki_id, "maker")),
        )

    def load_pki(self, pki_id: str, region: str, stored: WrappedPki) -> HostedPki:
        """Unwrap a stored CA and host it."""
        root = load_signer(self._wrapper.unwrap(stored.root_key, context=_context("pki", pki_id, "root")))
        maker = load_signer(self._wrapper.unwrap(stored.maker_key, context=_context("pki", pki_id, "maker")))
        pki = DeploymentPki(
            region, CertificateAuthority(root, stored.root_certificate), maker, stored.maker_certificate
        )
        hosted = HostedPki(pki_id, pki)
        self._pkis[(region, pki.algorithm)] = hosted
        return hosted

    def pki(self, region: str, algorithm: SealAlgorithm) -> HostedPki:
        """The CA that makes seals of the region's province; RegionNotHosted when none runs here."""
        hosted = self._pkis.get((province_of(region), algorithm))
        if hosted is None:
            raise RegionNotHosted(
                f"no {algorithm.value} seal CA of province {province_of(region)} runs in this deployment"
            )
        return hosted

    def pki_by_id(self, pki_id: str) -> HostedPki | None:
        """A hosted CA by its id."""
        return next((h for h in self._pkis.values() if h.id == pki_id), None)

    @property
    def provinces(self) -> list[str]:
        """Provinces whose CAs run here."""
        return sorted({region for region, _ in self._pkis})

    @property
    def pkis(self) -> Mapping[tuple[str, SealAlgorithm], HostedPki]:
        """Every hosted CA by (province, algorithm)."""
        return dict(self._pkis)

    # -- seal keys -------------------------------------------------------------------------------

    def wrap_seal_key(self, seal_id: str, signer: Signer, *, role: str = "seal") -> bytes:
        """The blob to store for a seal's private key (role "seal" or "jose")."""
        return self._wrapper.wrap(signer.pkcs8_der(), context=_context("seal", seal_id, role))

    def seal_signer(self, seal_id: str, blob: bytes, *, role: str = "seal") -> Signer:
        """The seal's private key, unwrapped once and then served from the cache."""
        key = (seal_id, role, hashlib.sha256(blob).digest())
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        signer = load_signer(self._wrapper.unwrap(blob, context=_context("seal", seal_id, role)))
        with self._lock:
            self._cache[key] = signer
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return signer

    def forget(self, seal_id: str) -> None:
        """Drop a seal's keys from the cache (after revocation)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == seal_id]:
                del self._cache[key]

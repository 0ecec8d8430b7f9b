"""The hub's ES256 key: signs requests to providers and responses to callers; published as a JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tongban_kit.crypto import FieldCipher
from tongban_kit.ids import new_id

from data_exchange_svc.adapters.orm import HubKeyRow

ALG = "ES256"
REQUEST_TYP = "tongban-exchange-request+jws"
RESULT_TYP = "tongban-exchange-result+jws"
ISSUER = "urn:tongban:exchange"
# Associated data sealed with the stored hub key (the rekey entrypoint needs it too).
KEY_AAD = b"tongban-exchange-hub-key"


def body_digest(body: bytes) -> str:
    """base64url SHA-256 of a request body, bound into the request signature."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")


def canonical_json(value: Any) -> bytes:
    """The bytes the hub signs: sorted keys, compact, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class HubSigner:
    """Signs with the hub's current key."""

    def __init__(self, key: ECKey) -> None:
        self.key = key

    @property
    def kid(self) -> str:
        """The key id every signature names."""
        return str(self.key.kid)

    @property
    def jwks(self) -> dict[str, Any]:
        """The public key set callers and providers verify with."""
        return {"keys": [self.key.as_dict(private=False)]}

    def sign_request(self, method: str, path: str, body: bytes, audience: str) -> str:
        """A compact JWS binding method, path, body digest, audience and time (replay-checked by jti)."""
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "htm": method.upper(),
            "htu": path,
            "bodyhash": body_digest(body),
            "iat": int(time.time()),
            "jti": new_id(),
        }
        header = {"alg": ALG, "kid": self.kid, "typ": REQUEST_TYP}
        return jws.serialize_compact(header, canonical_json(claims), self.key, algorithms=[ALG])

    def sign_result(self, document: dict[str, Any]) -> str:
        """A compact JWS whose payload is the response document: what the caller can prove it received."""
        header = {"alg": ALG, "kid": self.kid, "typ": RESULT_TYP}
        return jws.serialize_compact(header, canonical_json(document), self.key, algorithms=[ALG])


def verify_compact(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against a key set; return (header, payload as JSON)."""
    keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    obj = jws.deserialize_compact(token, keys, algorithms=[ALG])
    payload = json.loads(obj.payload)
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    return dict(obj.headers()), payload


def key_from_jwk(text: str) -> ECKey:
    """An EC P-256 private key from its JWK JSON (given in configuration)."""
    data = json.loads(text)
    key = ECKey.import_key(data)
    if not key.is_private:
        raise ValueError("EXCHANGE_SIGNING_KEY must be a private JWK")
    if key.kid is None:
        key = ECKey.import_key(data, parameters={"kid": key.thumbprint()})
    return key


def generate_key() -> ECKey:
    """A fresh P-256 signing key."""
    return ECKey.generate_key("P-256", parameters={"kid": new_id(), "use": "sig", "alg": ALG})


async def load_or_create_key(session_factory: async_sessionmaker[AsyncSession], cipher: FieldCipher) -> ECKey:
    """The oldest active key in the database; the first replica to start creates it."""
    # Replicas starting together may each insert one; all then use the oldest, so they agree.
    oldest = select(HubKeyRow).where(HubKeyRow.active.is_(True)).order_by(HubKeyRow.created_at, HubKeyRow.kid)
    async with session_factory() as session:
        row = (await session.execute(oldest)).scalars().first()
        if row is not None:
            return ECKey.import_key(json.loads(cipher.decrypt(row.private_jwk, KEY_AAD)))
        key = generate_key()
        session.add(
            HubKeyRow(
                kid=str(key.kid),
                private_jwk=cipher.encrypt(json.dumps(key.as_dict(private=True)), KEY_AAD),
                public_jwk=key.as_dict(private=False),
                active=True,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
        return await load_or_create_key(session_factory, cipher)

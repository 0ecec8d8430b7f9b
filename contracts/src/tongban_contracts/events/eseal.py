"""Event payloads of eseal-svc on ``tongban.eseal.licence.v1`` (one model per event type).

Licence events are keyed by the licence id, seal events by the seal id. No event carries a holder's
identity number, a licence's data fields or any key material: holders are known only by their
keyed hash (HMAC-SM3 of the identity number, the mesh's one subject hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tongban_contracts.events.common import Actor as Actor  # re-exported: payloads name it
from tongban_contracts.events.common import Payload as _Payload

SERVICE = "eseal"


class Issuer(_Payload):
    """The issuing organisation: credit code, name and province."""

    uscc: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    name: str
    region: str = Field(pattern=r"^[0-9]{6}$")


class StatusEntry(_Payload):
    """A licence's entry in a Bitstring Status List."""

    purpose: Literal["revocation", "suspension"]
    status_list: str = Field(description="URL of the status list credential")
    index: int = Field(ge=0)


class LicenceIssued(_Payload):
    """``cn.gov.tongban.eseal.licence-issued.v1``: a licence was issued and sealed."""

    licence_id: str
    licence_type: str
    issuer: Issuer
    seal_id: str
    holder_subject_hash: str
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime
    credential_status: list[StatusEntry]
    gm_signature: bool = Field(description="a detached GB/T 38540 SES_Signature accompanies the JWT")
    version: int
    actor: Actor


class LicenceStatusChanged(_Payload):
    """Common fields of the status events."""

    licence_id: str
    licence_type: str
    issuer: Issuer
    holder_subject_hash: str
    at: datetime
    reason: str | None
    version: int
    actor: Actor


class LicenceRevoked(LicenceStatusChanged):
    """``cn.gov.tongban.eseal.licence-revoked.v1``: the licence was revoked for good."""


class LicenceSuspended(LicenceStatusChanged):
    """``cn.gov.tongban.eseal.licence-suspended.v1``: the licence was suspended."""


class LicenceReinstated(LicenceStatusChanged):
    """``cn.gov.tongban.eseal.licence-reinstated.v1``: a suspension was lifted."""


class SealRevoked(_Payload):
    """``cn.gov.tongban.eseal.seal-revoked.v1``: signatures made with the seal after revoked_at fail."""

    seal_id: str
    es_id: str
    uscc: str
    org_name: str
    region: str
    algorithm: Literal["SM2_SM3", "ECDSA_P256_SHA256", "ED25519"]
    revoked_at: datetime = Field(description="from when the seal is invalid (may precede recorded_at)")
    recorded_at: datetime
    reason: str | None
    version: int
    actor: Actor


EVENTS: dict[str, type[BaseModel]] = {
    "licence-issued": LicenceIssued,
    "licence-revoked": LicenceRevoked,
    "licence-suspended": LicenceSuspended,
    "licence-reinstated": LicenceReinstated,
    "seal-revoked": SealRevoked,
}
"""Event name (as in ``event_type("eseal", name)``) to its payload model."""

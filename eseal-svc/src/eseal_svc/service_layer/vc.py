"""The shape of Tongban licence credentials (W3C VC 2.0) and of who signs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eseal_svc.adapters.crypto.keys import Signer
from eseal_svc.adapters.orm import SealRow
from eseal_svc.domain.licence import Issuer, StatusEntry
from eseal_svc.service_layer.context import EsealContext

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
TONGBAN_CONTEXT = "https://tongban.gov.cn/ns/licence/v1"
LICENCE_VC_TYPE = "ElectronicLicence"
ISSUER_PREFIX = "urn:tongban:org:"
SUBJECT_PREFIX = "urn:tongban:subject:"


def rfc3339(moment: datetime) -> str:
    """UTC time to the second, with a Z."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: Any) -> datetime | None:
    """A datetime of an RFC 3339 string with an offset, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def issuer_id(uscc: str) -> str:
    """The issuer id of an organisation in credentials."""
    return ISSUER_PREFIX + uscc


@dataclass(frozen=True, slots=True)
class LicenceKey:
    """Where a seal's licence-signing key is kept (read from the row before work leaves the loop)."""

    seal_id: str
    seal_blob: bytes = field(repr=False)
    jose_blob: bytes | None = field(repr=False)
    certificate: bytes

    @classmethod
    def of(cls, seal: SealRow) -> LicenceKey:
        """The licence key of a stored seal."""
        return cls(seal.id, seal.wrapped_key, seal.jose_wrapped_key, seal.jose_certificate)


def licence_signer(ctx: EsealContext, key: LicenceKey) -> Signer:
    """The key that signs licences and status lists for a seal (its own key unless the seal is SM2)."""
    if key.jose_blob is not None:
        return ctx.keyring.seal_signer(key.seal_id, key.jose_blob, role="jose")
    return ctx.keyring.seal_signer(key.seal_id, key.seal_blob)


def build_credential(
    *,
    ctx: EsealContext,
    licence_id: str,
    licence_type: str,
    type_name: str,
    issuer: Issuer,
    holder_subject_hash: str,
    holder_name: str,
    holder_id_type: str,
    holder_id_masked: str,
    fields: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime | None,
    issued_at: datetime,
    entries: list[StatusEntry],
) -> dict[str, Any]:
    """The licence as a VC 2.0 document (the JWT payload)."""
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, TONGBAN_CONTEXT],
        "id": f"urn:uuid:{licence_id}",
        "type": ["VerifiableCredential", LICENCE_VC_TYPE],
        "name": type_name,
        "issuer": {"id": issuer_id(issuer.uscc), "name": issuer.name, "region": issuer.region},
        "validFrom": rfc3339(valid_from),
        "credentialSubject": {
            "id": SUBJECT_PREFIX + holder_subject_hash,
            "licenceType": licence_type,
            "holder": {
                "name": holder_name,
                "identifierType": holder_id_type,
                "identifierMasked": holder_id_masked,
            },
            "fields": fields,
        },
        "credentialStatus": [
            {
                "id": f"{ctx.settings.status_list_url(e.list_id)}#{e.index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": e.purpose.value,
                "statusListIndex": str(e.index),
                "statusListCredential": ctx.settings.status_list_url(e.list_id),
            }
            for e in entries
        ],
        "iat": int(issued_at.timestamp()),
    }
    if valid_until is not None:
        credential["validUntil"] = rfc3339(valid_until)
    return credential

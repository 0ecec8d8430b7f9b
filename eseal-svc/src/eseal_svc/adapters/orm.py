"""ORM tables of eseal-svc (the kit's outbox, inbox and idempotency tables share this metadata).

Private keys are stored only as key-wrap blobs (see adapters/crypto/keywrap.py); licence
credentials and holder identity numbers only as field-cipher ciphertexts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.db import Base, UtcDateTime, utcnow

__all__ = [
    "Base",
    "LicenceRow",
    "LicenceTypeRow",
    "PkiRow",
    "SealRow",
    "StatusListRow",
    "TrustAnchorRow",
    "TrustedIssuerRow",
]


class PkiRow(Base):
    """A hosted province's root CA and seal maker for one algorithm."""

    __tablename__ = "pki_authorities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    region: Mapped[str] = mapped_column(String(6))
    algorithm: Mapped[str] = mapped_column(String(24))
    root_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    root_key: Mapped[bytes] = mapped_column(LargeBinary)
    maker_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    maker_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("region", "algorithm", name="uq_pki_authorities_region_algorithm"),)


class TrustAnchorRow(Base):
    """A root certificate whose seals, signatures and licences this deployment accepts."""

    __tablename__ = "trust_anchors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(1000))
    algorithm: Mapped[str | None] = mapped_column(String(24), nullable=True)
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(16))  # "local" (hosted here) or "registered"
    actor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SealRow(Base):
    """An organisation's seal, its certificate and its wrapped keys."""

    __tablename__ = "seals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    es_id: Mapped[str] = mapped_column(String(64), unique=True)
    org_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18))
    region: Mapped[str] = mapped_column(String(6))
    seal_type: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revocation_recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    pki_id: Mapped[str] = mapped_column(String(36))
    seal_der: Mapped[bytes] = mapped_column(LargeBinary)
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    signer_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    signer_certificate_sha256: Mapped[str] = mapped_column(String(64), index=True)
    maker_certificate_sha256: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The key that signs licences as JWTs: the seal's own for ECDSA/Ed25519 seals (no wrapped copy),
    # a separate ES256 key certified by the province's ECDSA CA for SM2 seals.
    jose_alg: Mapped[str] = mapped_column(String(16))
    jose_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    jose_certificate_sha256: Mapped[str] = mapped_column(String(64), index=True)
    jose_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    actor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_seals_uscc_id", "uscc", "id"),
        Index("ix_seals_region_id", "region", "id"),
    )
    # The domain bumps version; the UPDATE checks the version read, so a lost race fails loudly.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class LicenceTypeRow(Base):
    """A licence type of the registry."""

    __tablename__ = "licence_types"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TrustedIssuerRow(Base):
    """Mutual recognition: an organisation of a region may issue these licence types."""

    __tablename__ = "trusted_issuers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    region: Mapped[str] = mapped_column(String(6))
    org_name: Mapped[str] = mapped_column(String(200))
    licence_types: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    actor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("uscc", "region", name="uq_trusted_issuers_uscc_region"),)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class LicenceRow(Base):
    """An issued licence; the credential and the holder's number are field-cipher ciphertexts."""

    __tablename__ = "licences"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    licence_type: Mapped[str] = mapped_column(String(64))
    issuer_uscc: Mapped[str] = mapped_column(String(18), index=True)
    issuer_name: Mapped[str] = mapped_column(String(200))
    issuer_region: Mapped[str] = mapped_column(String(6))
    seal_id: Mapped[str] = mapped_column(String(36))
    holder_subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    holder_id_encrypted: Mapped[str] = mapped_column(String(200))
    holder_id_masked: Mapped[str] = mapped_column(String(32))
    credential_encrypted: Mapped[str] = mapped_column(Text)
    gm_signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    revocation_list_id: Mapped[str] = mapped_column(String(36))
    revocation_index: Mapped[int] = mapped_column(Integer)
    suspension_list_id: Mapped[str] = mapped_column(String(36))
    suspension_index: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class StatusListRow(Base):
    """One Bitstring Status List of a seal's licences for one purpose."""

    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seal_id: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[bytes] = mapped_column(LargeBinary)
    allocated_count: Mapped[int] = mapped_column(Integer, default=0)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_status_lists_seal_purpose", "seal_id", "purpose", "full"),)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012

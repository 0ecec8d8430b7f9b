"""Validation reports in the style of EU DSS / ETSI EN 319 102-1: indication, sub-indication, checks."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


class Indication(enum.StrEnum):
    """Overall outcome of a validation."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(enum.StrEnum):
    """Why a validation did not pass; names follow ETSI EN 319 102-1 where one exists."""

    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    # Not in ETSI: GB/T 38540 binds the signer's certificate to the seal's certificate list.
    SIGNER_NOT_IN_SEAL = "SIGNER_NOT_IN_SEAL"
    # A status source (a status list) could not be reached or read; asking again later may help.
    TRY_LATER = "TRY_LATER"
    # Licences: the issuer's signature is good but the trust registry does not recognise the issuer
    # for that licence type in that region; a suspended licence may be reinstated, so both are open.
    ISSUER_NOT_TRUSTED = "ISSUER_NOT_TRUSTED"
    SUSPENDED = "SUSPENDED"

    @property
    def indication(self) -> Indication:
        """The indication this sub-indication belongs to."""
        if self in _INDETERMINATE:
            return Indication.INDETERMINATE
        return Indication.TOTAL_FAILED


_INDETERMINATE = frozenset(
    {
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        SubIndication.TRY_LATER,
        SubIndication.ISSUER_NOT_TRUSTED,
        SubIndication.SUSPENDED,
    }
)


class CheckName(enum.StrEnum):
    """Checks a verifier performs, in the order it performs them."""

    FORMAT = "format"
    SEAL_MAKER_SIGNATURE = "seal_maker_signature"
    SEAL_MAKER_CHAIN = "seal_maker_chain"
    SEAL_VALIDITY = "seal_validity"
    SIGNER_IN_SEAL = "signer_in_seal"
    SIGNER_CHAIN = "signer_chain"
    DATA_HASH = "data_hash"
    SIGNATURE_VALUE = "signature_value"
    REVOCATION = "revocation"
    # PAdES: the signature covers the whole file, or only form filling followed it.
    COVERAGE = "coverage"
    # Licences (W3C VC secured as a JWT).
    ISSUER_TRUST = "issuer_trust"
    LICENCE_VALIDITY = "licence_validity"
    LICENCE_STATUS = "licence_status"
    GM_SIGNATURE = "gm_signature"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check that was performed, and what it found."""

    name: CheckName
    passed: bool
    detail: str
    sub_indication: SubIndication | None = None

    @classmethod
    def ok(cls, name: CheckName, detail: str) -> CheckResult:
        """A passed check."""
        return cls(name, True, detail)

    @classmethod
    def failed(cls, name: CheckName, sub: SubIndication, detail: str) -> CheckResult:
        """A failed check and the sub-indication it stands for."""
        return cls(name, False, detail, sub)


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What a verifier learned about the seal and the signer, for display beside the verdict."""

    es_id: str | None = None
    seal_name: str | None = None
    seal_type_code: int | None = None
    seal_valid_from: datetime | None = None
    seal_valid_to: datetime | None = None
    signing_time: datetime | None = None
    signature_algorithm: str | None = None
    digest_algorithm: str | None = None
    signer_subject: str | None = None
    maker_subject: str | None = None
    trust_anchor_subject: str | None = None
    property_info: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The verdict of a signature or seal validation."""

    indication: Indication
    sub_indication: SubIndication | None
    checks: tuple[CheckResult, ...]
    info: SignatureInfo = field(default_factory=SignatureInfo)

    @property
    def passed(self) -> bool:
        """True for TOTAL_PASSED."""
        return self.indication is Indication.TOTAL_PASSED

    @classmethod
    def from_checks(
        cls, checks: Sequence[CheckResult], info: SignatureInfo | None = None
    ) -> ValidationReport:
        """Derive the verdict: a definite failure outranks an indeterminate one, earlier checks win ties."""
        failures = [c for c in checks if not c.passed]
        if not checks:
            raise ValueError("a report needs at least one check")
        chosen: SubIndication | None = None
        for wanted in (Indication.TOTAL_FAILED, Indication.INDETERMINATE):
            subs = [c.sub_indication for c in failures if c.sub_indication is not None]
            match = next((s for s in subs if s.indication is wanted), None)
            if match is not None:
                chosen = match
                break
        if failures and chosen is None:
            # A failed check without a sub-indication is a programming error; never report it as passed.
            raise ValueError("a failed check must carry a sub-indication")
        indication = chosen.indication if chosen else Indication.TOTAL_PASSED
        return cls(indication, chosen, tuple(checks), info or SignatureInfo())

    def check(self, name: CheckName) -> CheckResult | None:
        """The result of the named check, if it was performed."""
        return next((c for c in self.checks if c.name is name), None)

"""PAdES baseline B-B signatures of PDFs with pyHanko, for ECDSA P-256 and Ed25519 seals.

pyHanko has no SM2, so SM2 seals sign documents with GB/T 38540 SES_Signature instead. Chains and
revocation are checked by the caller against this deployment's trust anchors, the same way as for
SES signatures; this module reports what pyHanko found about each embedded signature.

pyHanko is imported on first use: it adds about 25 MiB to a process that may never see a PDF.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import keys as akeys
from asn1crypto import x509 as a509

from eseal_svc.adapters.crypto.keys import EcdsaP256Signer, Ed25519Signer, Signer

MAX_SIGNATURES = 20
# pyHanko logs a full traceback when a signer has no path to its trust roots; the report says so.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)
_MD = {EcdsaP256Signer: "sha256", Ed25519Signer: "sha512"}


class PdfFormatError(ValueError):
    """The bytes are not a PDF pyHanko can read or sign."""


def sign_pdf(
    pdf: bytes,
    *,
    signer: Signer,
    certificate_der: bytes,
    chain: list[bytes],
    field_name: str,
    name: str,
    reason: str | None = None,
    location: str | None = None,
) -> bytes:
    """The PDF with a new PAdES B-B signature (an incremental update) by the seal's key."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    md = next((v for k, v in _MD.items() if isinstance(signer, k)), None)
    if md is None:
        raise PdfFormatError("PAdES signing needs an ECDSA P-256 or Ed25519 seal")
    cms_signer = signers.SimpleSigner(
        signing_cert=a509.Certificate.load(certificate_der),
        signing_key=akeys.PrivateKeyInfo.load(signer.pkcs8_der()),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [a509.Certificate.load(c) for c in chain]
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=md,
        subfilter=fields.SigSeedSubFilter.PADES,
        name=name,
        reason=reason,
        location=location,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        output = signers.sign_pdf(writer, meta, signer=cms_signer)
    except (PdfError, SigningError, ValueError, KeyError, TypeError) as exc:
        raise PdfFormatError(f"the PDF could not be signed: {type(exc).__name__}") from exc
    return bytes(output.getvalue())


@dataclass(frozen=True, slots=True)
class PdfSignatureFinding:
    """What pyHanko found about one embedded signature."""

    field_name: str
    intact: bool
    valid: bool
    covers_whole_file: bool
    modified_beyond_forms: bool
    signer_certificate: bytes | None
    signing_time: datetime | None
    digest_algorithm: str | None
    error: str | None = None


def inspect_pdf(pdf: bytes, *, trust_roots: Sequence[bytes] = ()) -> list[PdfSignatureFinding]:
    """Every embedded signature's integrity and cryptographic validity; PdfFormatError when unreadable.

    The trust roots only spare pyHanko a failed path search; trust is decided by the caller.
    """
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(
        trust_roots=[a509.Certificate.load(r) for r in trust_roots], allow_fetching=False
    )
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PdfFormatError(f"not a readable PDF: {type(exc).__name__}") from exc
    if len(embedded) > MAX_SIGNATURES:
        raise PdfFormatError(f"more than {MAX_SIGNATURES} signatures")
    findings = []
    for sig in embedded:
        try:
            status = validate_pdf_signature(sig, context)
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
            findings.append(
                PdfSignatureFinding(
                    field_name=sig.field_name,
                    intact=False,
                    valid=False,
                    covers_whole_file=False,
                    modified_beyond_forms=True,
                    signer_certificate=None,
                    signing_time=None,
                    digest_algorithm=None,
                    error=type(exc).__name__,
                )
            )
            continue
        level = status.modification_level
        signed_at = status.signer_reported_dt
        findings.append(
            PdfSignatureFinding(
                field_name=sig.field_name,
                intact=bool(status.intact),
                valid=bool(status.valid),
                covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                # Later incremental updates that only fill forms or add signatures are allowed.
                modified_beyond_forms=level is not None and level.value > 2,
                signer_certificate=bytes(status.signing_cert.dump()) if status.signing_cert else None,
                signing_time=signed_at.astimezone(UTC) if signed_at else None,
                digest_algorithm=status.md_algorithm,
            )
        )
    return findings

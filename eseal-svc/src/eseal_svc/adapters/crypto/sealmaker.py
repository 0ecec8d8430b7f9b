"""Making an organisation's seal end to end: key pair, signer certificate, image and SESeal DER."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from eseal_svc.adapters.crypto.ca import DeploymentPki
from eseal_svc.adapters.crypto.keys import Signer, generate_signer
from eseal_svc.adapters.crypto.seal_image import SEAL_DIAMETER_MM, render_seal_png
from eseal_svc.adapters.crypto.ses import CertListType, SealPicture, make_seal
from eseal_svc.domain.model import SealSpec


@dataclass(frozen=True, slots=True)
class MadeSeal:
    """The artefacts of a new seal; the signer holds the private key, which the caller wraps at once."""

    seal_der: bytes
    image_png: bytes
    signer_certificate: bytes
    signer: Signer = field(repr=False)


def make_organisation_seal(
    spec: SealSpec,
    *,
    pki: DeploymentPki,
    es_id: str,
    created_at: datetime,
    cert_list_type: CertListType = CertListType.CERTIFICATES,
    font_path: str | None = None,
) -> MadeSeal:
    """Generate the seal's key pair, certify it, draw the image and have the maker sign the SESeal."""
    if pki.algorithm is not spec.algorithm:
        raise ValueError(f"the {pki.algorithm} PKI cannot make a {spec.algorithm} seal")
    signer = generate_signer(spec.algorithm)
    certificate = pki.issue_signer_certificate(
        public_key=signer.verifier(),
        seal_name=spec.name,
        org_name=spec.org_name,
        uscc=spec.uscc,
        not_before=spec.validity.valid_from,
        not_after=spec.validity.valid_to,
    )
    image = render_seal_png(spec.org_name, bottom_text=spec.seal_type.label_zh, font_path=font_path)
    seal_der = make_seal(
        maker=pki.maker,
        maker_certificate=pki.maker_certificate,
        es_id=es_id,
        seal_type=spec.seal_type.ses_code,
        name=spec.name,
        signer_certificates=[certificate],
        created_at=created_at,
        valid_start=spec.validity.valid_from,
        valid_end=spec.validity.valid_to,
        picture=SealPicture("png", image, SEAL_DIAMETER_MM, SEAL_DIAMETER_MM),
        cert_list_type=cert_list_type,
    )
    return MadeSeal(seal_der=seal_der, image_png=image, signer_certificate=certificate, signer=signer)

"""Licence validation: authenticity, issuer recognition, validity window and status, as a DSS-style report.

What a verifier in any region does with a licence it was handed:
1. read the vc+jwt and its x5c chain;
2. build the chain to a registered trust anchor at the issuance time (iat): the anchor says which
   region's CA certified the key;
3. check the JWS with the certified key, and that the certificate is the named issuer's;
4. the key's seal is not known to have been revoked before issuance;
5. the trust registry recognises that organisation of that region for that licence type;
6. now lies in [validFrom, validUntil);
7. every status entry's bit is clear in its signed status list (fetched over HTTP when the list is
   another deployment's; a list signed by another organisation does not count);
8. for SM2-sealed licences, the detached SES_Signature over the JWT verifies too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog

from eseal_svc.adapters.crypto import ses
from eseal_svc.adapters.crypto.ca import ChainStatus, organisation_identifier, verify_chain
from eseal_svc.adapters.crypto.errors import CertificateError, SesFormatError
from eseal_svc.adapters.jose import CompactJws, JoseFormatError, read_compact, verify_compact
from eseal_svc.domain.licence import StatusPurpose, issuer_trusted
from eseal_svc.domain.status_list import Bitstring, BitstringError
from eseal_svc.domain.validation import CheckName, CheckResult, SubIndication, ValidationReport
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import NotFound
from eseal_svc.service_layer.signatures import revoked_by_certificate, revoked_seals
from eseal_svc.service_layer.status_lists import signed_status_list
from eseal_svc.service_layer.trust import TrustSnapshot
from eseal_svc.service_layer.vc import ISSUER_PREFIX, LICENCE_VC_TYPE, parse_rfc3339

log = structlog.get_logger("eseal.licence_verify")
MAX_STATUS_ENTRIES = 4
# A list of a million entries, GZIP-compressed and signed, is far below this.
MAX_STATUS_LIST_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class LicenceSummary:
    """What the report says about the licence itself (no holder data)."""

    id: str | None = None
    licence_type: str | None = None
    issuer_uscc: str | None = None
    issuer_name: str | None = None
    issuer_region: str | None = None
    trust_anchor_region: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LicenceReport:
    """The verdict and what it is about."""

    report: ValidationReport
    licence: LicenceSummary


@dataclass(frozen=True, slots=True)
class _Claims:
    licence_id: str | None
    licence_type: str
    uscc: str
    issuer_name: str | None
    issuer_region: str | None
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime
    entries: list[tuple[str, str, int]]


def _claims(token: CompactJws) -> _Claims:
    """The fields a verifier relies on; JoseFormatError when one is missing or malformed."""
    header, vc = token.header, token.payload
    if str(header.get("typ", "")).lower() not in ("vc+jwt", "application/vc+jwt"):
        raise JoseFormatError("typ is not vc+jwt")
    types = vc.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or LICENCE_VC_TYPE not in types:
        raise JoseFormatError(f"not a VerifiableCredential of type {LICENCE_VC_TYPE}")
    issuer = vc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not issuer_id.startswith(ISSUER_PREFIX):
        raise JoseFormatError("issuer is not a Tongban organisation")
    subject = vc.get("credentialSubject")
    licence_type = subject.get("licenceType") if isinstance(subject, dict) else None
    if not isinstance(licence_type, str) or not licence_type:
        raise JoseFormatError("credentialSubject.licenceType is missing")
    valid_from = parse_rfc3339(vc.get("validFrom"))
    if valid_from is None:
        raise JoseFormatError("validFrom is missing or not RFC 3339")
    valid_until = parse_rfc3339(vc.get("validUntil")) if "validUntil" in vc else None
    if "validUntil" in vc and valid_until is None:
        raise JoseFormatError("validUntil is not RFC 3339")
    iat = vc.get("iat")
    issued_at = datetime.fromtimestamp(iat, UTC) if isinstance(iat, int) else valid_from
    raw_status = vc.get("credentialStatus", [])
    statuses = raw_status if isinstance(raw_status, list) else [raw_status]
    if len(statuses) > MAX_STATUS_ENTRIES:
        raise JoseFormatError("too many credentialStatus entries")
    entries: list[tuple[str, str, int]] = []
    for entry in statuses:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            raise JoseFormatError("credentialStatus entries must be BitstringStatusListEntry")
        purpose, url, index = (
            entry.get("statusPurpose"),
            entry.get("statusListCredential"),
            entry.get("statusListIndex"),
        )
        if (
            purpose not in ("revocation", "suspension")
            or not isinstance(url, str)
            or not str(index).isdigit()
        ):
            raise JoseFormatError("a credentialStatus entry is incomplete")
        entries.append((str(purpose), url, int(str(index))))
    licence_id = vc.get("id")
    return _Claims(
        licence_id=licence_id.removeprefix("urn:uuid:") if isinstance(licence_id, str) else None,
        licence_type=licence_type,
        uscc=issuer_id.removeprefix(ISSUER_PREFIX),
        issuer_name=issuer.get("name") if isinstance(issuer, dict) else None,
        issuer_region=issuer.get("region") if isinstance(issuer, dict) else None,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=issued_at,
        entries=entries,
    )


def _chain_failure(status: ChainStatus) -> SubIndication:
    return {
        ChainStatus.EXPIRED: SubIndication.EXPIRED,
        ChainStatus.NOT_YET_VALID: SubIndication.NOT_YET_VALID,
    }.get(status, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)


def _issued_by(certificate: bytes, uscc: str) -> bool:
    try:
        return organisation_identifier(certificate) == f"NTRCN-{uscc}"
    except CertificateError:
        return False


async def _status_list_jwt(ctx: EsealContext, url: str) -> str | None:
    """The list credential behind a statusListCredential URL: ours from the database, others' over HTTP."""
    prefix = ctx.settings.status_list_url("")
    if url.startswith(prefix):
        try:
            return (await signed_status_list(ctx, url[len(prefix) :])).jwt
        except NotFound:
            return None
    if ctx.http is None or not url.startswith(("https://", "http://")):
        return None
    cache = ctx.caches.setdefault("remote_lists", {})
    assert isinstance(cache, dict)
    cached = cache.get(url)
    if cached is not None and cached[0] > time.monotonic():
        return str(cached[1])
    try:
        response = await ctx.http.get(
            url, headers={"Accept": "application/vc+jwt"}, timeout=ctx.settings.remote_fetch_timeout
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("status list unavailable", url=url, error=type(exc).__name__)
        return None
    if len(response.content) > MAX_STATUS_LIST_BYTES:
        log.warning("status list too large", url=url, size=len(response.content))
        return None
    text = response.text.strip()
    cache[url] = (time.monotonic() + ctx.settings.status_list_max_age, text)
    return text


def _read_list(jwt: str, *, uscc: str, purpose: str, trust: TrustSnapshot, now: datetime) -> Bitstring | str:
    """The bits of a status list credential, or why it cannot be relied on."""
    try:
        token = read_compact(jwt)
    except JoseFormatError as exc:
        return str(exc)
    subject = token.payload.get("credentialSubject")
    issuer = token.payload.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != ISSUER_PREFIX + uscc or not _issued_by(token.certificates[0], uscc):
        return "the status list was not issued by the licence's issuer"
    if not verify_compact(token):
        return "the status list's signature does not verify"
    chain = verify_chain(
        token.certificates[0], trust_anchors=trust.certificates, at=now, intermediates=token.certificates[1:]
    )
    if not chain.valid:
        return f"the status list's signer: {chain.detail}"
    if not isinstance(subject, dict) or subject.get("statusPurpose") != purpose:
        return f"the status list is not a {purpose} list"
    try:
        return Bitstring.decode(str(subject.get("encodedList", "")))
    except BitstringError as exc:
        return str(exc)


async def _status_checks(
    ctx: EsealContext, claims: _Claims, trust: TrustSnapshot, now: datetime
) -> list[CheckResult]:
    checks: list[CheckResult] = []
    if not claims.entries:
        return [CheckResult.ok(CheckName.LICENCE_STATUS, "the licence has no status entry")]
    for purpose, url, index in claims.entries:
        jwt = await _status_list_jwt(ctx, url)
        if jwt is None:
            checks.append(
                CheckResult.failed(
                    CheckName.LICENCE_STATUS, SubIndication.TRY_LATER, f"{purpose} list {url} unavailable"
                )
            )
            continue
        bits = await asyncio.to_thread(
            _read_list, jwt, uscc=claims.uscc, purpose=purpose, trust=trust, now=now
        )
        if isinstance(bits, str):
            checks.append(CheckResult.failed(CheckName.LICENCE_STATUS, SubIndication.TRY_LATER, bits))
            continue
        if index >= bits.size:
            checks.append(
                CheckResult.failed(
                    CheckName.LICENCE_STATUS, SubIndication.FORMAT_FAILURE, f"index {index} outside the list"
                )
            )
        elif not bits.get(index):
            checks.append(CheckResult.ok(CheckName.LICENCE_STATUS, f"{purpose} bit {index} is clear"))
        elif purpose == StatusPurpose.REVOCATION.value:
            checks.append(
                CheckResult.failed(CheckName.LICENCE_STATUS, SubIndication.REVOKED, "the licence is revoked")
            )
        else:
            checks.append(
                CheckResult.failed(
                    CheckName.LICENCE_STATUS, SubIndication.SUSPENDED, "the licence is suspended"
                )
            )
    return checks


async def verify_licence(ctx: EsealContext, jwt: str, *, gm_signature: bytes | None = None) -> LicenceReport:
    """The full validation of a licence JWT (and its SES_Signature when given)."""
    now = ctx.clock()
    checks: list[CheckResult] = []
    try:
        token = read_compact(jwt)
        claims = _claims(token)
    except JoseFormatError as exc:
        checks.append(CheckResult.failed(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, str(exc)))
        return LicenceReport(ValidationReport.from_checks(checks), LicenceSummary())
    checks.append(CheckResult.ok(CheckName.FORMAT, "vc+jwt of an electronic licence parsed"))
    trust = await ctx.trust.snapshot()

    leaf = token.certificates[0]
    chain = await asyncio.to_thread(
        verify_chain,
        leaf,
        trust_anchors=trust.certificates,
        at=claims.issued_at,
        intermediates=token.certificates[1:],
    )
    anchor = trust.anchor_for(chain.anchor_der) if chain.valid else None
    if chain.valid:
        checks.append(CheckResult.ok(CheckName.SIGNER_CHAIN, f"issuer key: {chain.detail}"))
    else:
        checks.append(
            CheckResult.failed(
                CheckName.SIGNER_CHAIN, _chain_failure(chain.status), f"issuer key: {chain.detail}"
            )
        )

    signature_ok = await asyncio.to_thread(verify_compact, token)
    if signature_ok and _issued_by(leaf, claims.uscc):
        checks.append(
            CheckResult.ok(CheckName.SIGNATURE_VALUE, "JWS verifies with the issuer's certified key")
        )
    elif signature_ok:
        signature_ok = False
        checks.append(
            CheckResult.failed(
                CheckName.SIGNATURE_VALUE,
                SubIndication.SIG_CRYPTO_FAILURE,
                "the signing certificate belongs to another organisation than the issuer named",
            )
        )
    else:
        checks.append(
            CheckResult.failed(
                CheckName.SIGNATURE_VALUE, SubIndication.SIG_CRYPTO_FAILURE, "JWS does not verify"
            )
        )

    async with ctx.uow() as uow:
        revoked = await revoked_by_certificate(uow, [hashlib.sha256(leaf).hexdigest()])
        revoked_refs = await revoked_seals(uow) if gm_signature is not None else {}
    revoked_at = revoked.get(hashlib.sha256(leaf).hexdigest())
    if revoked_at is not None and revoked_at <= claims.issued_at:
        checks.append(
            CheckResult.failed(
                CheckName.REVOCATION,
                SubIndication.REVOKED,
                f"issuer's seal revoked {revoked_at}, before issuance",
            )
        )
    elif revoked_at is not None:
        checks.append(
            CheckResult.ok(CheckName.REVOCATION, f"issuer's seal revoked {revoked_at}, after issuance")
        )
    else:
        checks.append(CheckResult.ok(CheckName.REVOCATION, "issuer's seal not known to be revoked"))

    if anchor is None:
        checks.append(
            CheckResult.failed(
                CheckName.ISSUER_TRUST,
                SubIndication.ISSUER_NOT_TRUSTED,
                "no registered trust anchor vouches for the issuer",
            )
        )
    elif issuer_trusted(
        trust.issuers, uscc=claims.uscc, region=anchor.region, licence_type=claims.licence_type
    ):
        checks.append(
            CheckResult.ok(
                CheckName.ISSUER_TRUST,
                f"{claims.uscc} of region {anchor.region} is recognised for {claims.licence_type}",
            )
        )
    else:
        checks.append(
            CheckResult.failed(
                CheckName.ISSUER_TRUST,
                SubIndication.ISSUER_NOT_TRUSTED,
                f"{claims.uscc} of region {anchor.region} is not recognised for {claims.licence_type}",
            )
        )

    if now < claims.valid_from:
        checks.append(
            CheckResult.failed(
                CheckName.LICENCE_VALIDITY, SubIndication.NOT_YET_VALID, f"valid from {claims.valid_from}"
            )
        )
    elif claims.valid_until is not None and now >= claims.valid_until:
        checks.append(
            CheckResult.failed(
                CheckName.LICENCE_VALIDITY, SubIndication.EXPIRED, f"expired {claims.valid_until}"
            )
        )
    else:
        checks.append(CheckResult.ok(CheckName.LICENCE_VALIDITY, "inside the validity window"))

    # Status lists are fetched only for a licence whose signature and chain hold: an unauthenticated
    # token must not make this service call out to addresses it names.
    if signature_ok and chain.valid:
        checks.extend(await _status_checks(ctx, claims, trust, now))

    if gm_signature is not None:
        gm = await asyncio.to_thread(
            ses.verify_ses_signature,
            gm_signature,
            token.token.encode("ascii"),
            trust_anchors=trust.certificates,
            revocation_lookup=revoked_refs.get,
            validation_time=now,
        )
        signer_ok = _gm_signer_is_issuer(gm_signature, claims.uscc)
        if gm.passed and signer_ok:
            checks.append(CheckResult.ok(CheckName.GM_SIGNATURE, "SES_Signature over the JWT verifies"))
        elif gm.passed:
            checks.append(
                CheckResult.failed(
                    CheckName.GM_SIGNATURE,
                    SubIndication.SIG_CRYPTO_FAILURE,
                    "SES_Signature made by another organisation",
                )
            )
        else:
            failed = next((c for c in gm.checks if not c.passed), None)
            checks.append(
                CheckResult.failed(
                    CheckName.GM_SIGNATURE,
                    gm.sub_indication or SubIndication.FORMAT_FAILURE,
                    f"SES_Signature: {failed.detail if failed else gm.indication}",
                )
            )

    summary = LicenceSummary(
        id=claims.licence_id,
        licence_type=claims.licence_type,
        issuer_uscc=claims.uscc,
        issuer_name=claims.issuer_name,
        issuer_region=claims.issuer_region,
        trust_anchor_region=anchor.region if anchor else None,
        valid_from=claims.valid_from,
        valid_until=claims.valid_until,
        issued_at=claims.issued_at,
    )
    return LicenceReport(ValidationReport.from_checks(checks), summary)


def _gm_signer_is_issuer(signature: bytes, uscc: str) -> bool:
    try:
        return _issued_by(ses.parse_signature(signature).signer_certificate, uscc)
    except (SesFormatError, CertificateError):
        return False


def decode_gm_signature(value: str | None) -> bytes | None:
    """The DER of a base64 SES_Signature field, or None."""
    return base64.b64decode(value, validate=True) if value else None

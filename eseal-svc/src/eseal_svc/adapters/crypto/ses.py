"""GB/T 38540-2020 (SES v4) electronic seal and signature structures: schema, builders, parsers, verifier.

The schema below is written from the standard's ASN.1, field by field:

    SESeal             ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING,
                                      signAlgID OBJECT IDENTIFIER, signedValue BIT STRING }
    SES_SealInfo       ::= SEQUENCE { header SES_Header, esID IA5String, property SES_ESPropertyInfo,
                                      picture SES_ESPictureInfo, extDatas ExtensionDatas OPTIONAL }
    SES_Header         ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
    SES_ESPropertyInfo ::= SEQUENCE { type INTEGER, name UTF8String, certListType INTEGER,
                                      certList SES_CertList, createDate GeneralizedTime,
                                      validStart GeneralizedTime, validEnd GeneralizedTime }
    SES_CertList       ::= CHOICE { certs CertInfoList, certDigestList CertDigestList }
    CertInfoList       ::= SEQUENCE OF OCTET STRING          -- certListType 1
    CertDigestList     ::= SEQUENCE OF CertDigestObj         -- certListType 2
    CertDigestObj      ::= SEQUENCE { type PrintableString, value OCTET STRING }
    SES_ESPictureInfo  ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }
    ExtensionDatas     ::= SEQUENCE OF ExtData
    ExtData            ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
                                      extnValue OCTET STRING }
    SES_Signature      ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
                                      signatureAlgID OBJECT IDENTIFIER, signature BIT STRING,
                                      timeStamp [0] EXPLICIT BIT STRING OPTIONAL }
    TBS_Sign           ::= SEQUENCE { version INTEGER (4), eseal SESeal, timeInfo GeneralizedTime,
                                      dataHash BIT STRING, propertyInfo IA5String,
                                      extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }

Both SES_CertList alternatives are SEQUENCE OF, so they share a tag: certListType says which one
is present, and the parser picks the alternative from it.

The seal maker signs DER(SES_SealInfo); the signer signs DER(TBS_Sign). Every signature is
verified over the bytes exactly as received, never over a re-encoding.

Profile for seals that are not SM2 (our decision; GB/T 38540 only defines SM2/SM3): the same
structures carry ecdsa-with-SHA256 (1.2.840.10045.4.3.2) or Ed25519 (1.3.101.112) as
signAlgID/signatureAlgID, dataHash is SHA-256 of the document, and certificate digests use SHA-256.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from asn1crypto import core

from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.ca import (
    ChainResult,
    ChainStatus,
    certificate_verifier,
    describe_certificate,
    verify_chain,
)
from eseal_svc.adapters.crypto.errors import ASN1_ERRORS, CertificateError, KeyFormatError, SesFormatError
from eseal_svc.adapters.crypto.keys import (
    DIGEST_SIZE,
    SIGNATURE_OIDS,
    Signer,
    algorithm_for_signature_oid,
    digest,
)
from eseal_svc.domain.model import SealAlgorithm
from eseal_svc.domain.validation import (
    CheckName,
    CheckResult,
    SignatureInfo,
    SubIndication,
    ValidationReport,
)

SES_ID = "ES"
SES_VERSION = 4
DEFAULT_VENDOR_ID = "TONGBAN"
# Signing times this far ahead of the verifier's clock are treated as forged or broken.
CLOCK_SKEW = timedelta(minutes=5)

# ---------------------------------------------------------------------------------------------
# ASN.1 schema (asn1crypto classes are untyped, hence the ignores on each subclass)


class ExtData(core.Sequence):  # type: ignore[misc]
    """ExtData: one vendor extension."""

    _fields: ClassVar[list[Any]] = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):  # type: ignore[misc]
    """ExtensionDatas: SEQUENCE OF ExtData."""

    _child_spec = ExtData


class SESHeader(core.Sequence):  # type: ignore[misc]
    """SES_Header: fixed "ES", the structure version and the vendor id."""

    _fields: ClassVar[list[Any]] = [
        ("id", core.IA5String),
        ("version", core.Integer),
        ("vid", core.IA5String),
    ]


class CertInfoList(core.SequenceOf):  # type: ignore[misc]
    """CertInfoList: DER certificates of the seal's signers."""

    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):  # type: ignore[misc]
    """CertDigestObj: a digest of a signer certificate and the name of its hash."""

    _fields: ClassVar[list[Any]] = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):  # type: ignore[misc]
    """CertDigestList: SEQUENCE OF CertDigestObj."""

    _child_spec = CertDigestObj


class CertListType(enum.IntEnum):
    """SES_ESPropertyInfo.certListType."""

    CERTIFICATES = 1
    DIGESTS = 2


def _cert_list_spec(property_info: Any) -> type:
    kind = property_info["cert_list_type"].native
    if kind == CertListType.CERTIFICATES:
        return CertInfoList
    if kind == CertListType.DIGESTS:
        return CertDigestList
    raise ValueError(f"unknown certListType {kind}")


class SESESPropertyInfo(core.Sequence):  # type: ignore[misc]
    """SES_ESPropertyInfo: type, name, signer certificates and validity of the seal."""

    _fields: ClassVar[list[Any]] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]
    _spec_callbacks: ClassVar[dict[str, Any]] = {"cert_list": _cert_list_spec}


class SESESPictureInfo(core.Sequence):  # type: ignore[misc]
    """SES_ESPictureInfo: the seal image and its printed size in millimetres."""

    _fields: ClassVar[list[Any]] = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class SESSealInfo(core.Sequence):  # type: ignore[misc]
    """SES_SealInfo: what the seal maker signs."""

    _fields: ClassVar[list[Any]] = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESESPropertyInfo),
        ("picture", SESESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):  # type: ignore[misc]
    """SESeal: seal information plus the maker's certificate and signature."""

    _fields: ClassVar[list[Any]] = [
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TBSSign(core.Sequence):  # type: ignore[misc]
    """TBS_Sign: what the signer signs."""

    _fields: ClassVar[list[Any]] = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SESSignature(core.Sequence):  # type: ignore[misc]
    """SES_Signature: a signed document's electronic signature (签章)."""

    _fields: ClassVar[list[Any]] = [
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


# ---------------------------------------------------------------------------------------------
# Plain values


@dataclass(frozen=True, slots=True)
class SealPicture:
    """Seal image and its printed size."""

    type: str
    data: bytes
    width_mm: int
    height_mm: int


@dataclass(frozen=True, slots=True)
class ExtensionData:
    """A vendor extension."""

    oid: str
    value: bytes
    critical: bool = False


@dataclass(frozen=True, slots=True)
class CertDigest:
    """A signer certificate digest and the hash that made it."""

    type: str
    value: bytes


@dataclass(frozen=True, slots=True)
class ParsedSeal:
    """Every field of an SESeal, plus the exact bytes its maker signed."""

    der: bytes
    seal_info_der: bytes
    header_id: str
    version: int
    vendor_id: str
    es_id: str
    seal_type: int
    name: str
    cert_list_type: CertListType
    certificates: tuple[bytes, ...]
    cert_digests: tuple[CertDigest, ...]
    created_at: datetime
    valid_start: datetime
    valid_end: datetime
    picture: SealPicture
    ext_datas: tuple[ExtensionData, ...]
    maker_certificate: bytes
    sign_algorithm_oid: str
    signed_value: bytes


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    """Every field of an SES_Signature, plus the exact bytes its signer signed."""

    der: bytes
    tbs_der: bytes
    version: int
    seal: ParsedSeal
    time_info: datetime
    data_hash: bytes
    property_info: str
    ext_datas: tuple[ExtensionData, ...]
    signer_certificate: bytes
    signature_algorithm_oid: str
    signature: bytes
    time_stamp: bytes | None


def _utc_seconds(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("SES times must carry a time zone")
    return value.astimezone(UTC).replace(microsecond=0)


def _read_time(value: Any) -> datetime:
    moment = value.native
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise SesFormatError("SES times must be GeneralizedTime in UTC")
    return moment


def _ia5(value: str, what: str) -> str:
    if not value.isascii():
        raise ValueError(f"{what} must be ASCII (IA5String)")
    return value


def _ext_datas(items: Sequence[ExtensionData]) -> Any:
    return ExtensionDatas([{"extn_id": e.oid, "critical": e.critical, "extn_value": e.value} for e in items])


def _read_ext_datas(value: Any) -> tuple[ExtensionData, ...]:
    if value is None or isinstance(value, core.Void):
        return ()
    return tuple(
        ExtensionData(e["extn_id"].dotted, bytes(e["extn_value"].native), bool(e["critical"].native))
        for e in value
    )


def certificate_digest_name(algorithm: SealAlgorithm) -> str:
    """CertDigestObj.type written for an algorithm: "SM3" or "SHA256"."""
    return algorithm.digest_name


def _certificate_digest(type_name: str, certificate: bytes) -> bytes | None:
    name = type_name.strip().upper().replace("-", "")
    if name == "SM3":
        return sm.sm3(certificate)
    if name == "SHA256":
        return hashlib.sha256(certificate).digest()
    return None


# ---------------------------------------------------------------------------------------------
# Builders


def make_seal(
    *,
    maker: Signer,
    maker_certificate: bytes,
    es_id: str,
    seal_type: int,
    name: str,
    signer_certificates: Sequence[bytes],
    created_at: datetime,
    valid_start: datetime,
    valid_end: datetime,
    picture: SealPicture,
    vendor_id: str = DEFAULT_VENDOR_ID,
    cert_list_type: CertListType = CertListType.CERTIFICATES,
    ext_datas: Sequence[ExtensionData] = (),
) -> bytes:
    """DER of an SESeal v4 whose SES_SealInfo is signed by the seal maker."""
    if not signer_certificates:
        raise ValueError("a seal needs at least one signer certificate")
    if certificate_verifier(maker_certificate).spki_der() != maker.verifier().spki_der():
        raise CertificateError("the maker certificate does not certify the maker key")
    start, end = _utc_seconds(valid_start), _utc_seconds(valid_end)
    if end <= start:
        raise ValueError("valid_end must be after valid_start")
    if cert_list_type is CertListType.CERTIFICATES:
        cert_list: Any = CertInfoList(list(signer_certificates))
    else:
        kinds = [certificate_verifier(c).algorithm for c in signer_certificates]
        cert_list = CertDigestList(
            [
                {"type": certificate_digest_name(kind), "value": digest(kind, cert)}
                for kind, cert in zip(kinds, signer_certificates, strict=True)
            ]
        )
    fields: dict[str, Any] = {
        "header": {"id": SES_ID, "version": SES_VERSION, "vid": _ia5(vendor_id, "vendor id")},
        "es_id": _ia5(es_id, "esID"),
        "property": {
            "type": seal_type,
            "name": name,
            "cert_list_type": int(cert_list_type),
            "cert_list": cert_list,
            "create_date": _utc_seconds(created_at),
            "valid_start": start,
            "valid_end": end,
        },
        "picture": {
            "type": _ia5(picture.type, "picture type"),
            "data": picture.data,
            "width": picture.width_mm,
            "height": picture.height_mm,
        },
    }
    if ext_datas:
        fields["ext_datas"] = _ext_datas(ext_datas)
    seal_info = SESSealInfo(fields)
    seal_info_der = seal_info.dump()
    seal = SESeal(
        {
            "e_seal_info": seal_info,
            "cert": maker_certificate,
            "sign_alg_id": SIGNATURE_OIDS[maker.algorithm],
            "signed_value": maker.sign(seal_info_der),
        }
    )
    return bytes(seal.dump())


def sign(
    *,
    seal_der: bytes,
    signer: Signer,
    signer_certificate: bytes,
    data_hash: bytes,
    signed_at: datetime,
    property_info: str = "",
    ext_datas: Sequence[ExtensionData] = (),
) -> bytes:
    """DER of an SES_Signature v4 over a document digest (SM3 for SM2 seals, SHA-256 otherwise).

    The seal bytes are embedded as given, so a batch can pass the same seal for every digest
    without re-encoding it; the caller has checked that the seal may sign at signed_at.
    """
    if len(data_hash) != DIGEST_SIZE:
        raise ValueError(f"data_hash must be a {DIGEST_SIZE}-byte {signer.algorithm.digest_name} digest")
    try:
        seal = SESeal.load(seal_der, strict=True)
    except ValueError as exc:
        raise SesFormatError("seal is not DER") from exc
    fields: dict[str, Any] = {
        "version": SES_VERSION,
        "eseal": seal,
        "time_info": _utc_seconds(signed_at),
        "data_hash": data_hash,
        "property_info": _ia5(property_info, "propertyInfo"),
    }
    if ext_datas:
        fields["ext_datas"] = _ext_datas(ext_datas)
    tbs = TBSSign(fields)
    signature = SESSignature(
        {
            "to_sign": tbs,
            "cert": signer_certificate,
            "signature_alg_id": SIGNATURE_OIDS[signer.algorithm],
            "signature": signer.sign(tbs.dump()),
        }
    )
    return bytes(signature.dump())


# ---------------------------------------------------------------------------------------------
# Parsers


def _parse_seal_value(seal: Any) -> ParsedSeal:
    info = seal["e_seal_info"]
    header = info["header"]
    prop = info["property"]
    picture = info["picture"]
    if header["id"].native != SES_ID:
        raise SesFormatError('SES_Header.ID is not "ES"')
    if header["version"].native != SES_VERSION:
        raise SesFormatError(f"SES_Header.version {header['version'].native} is not 4")
    kind = CertListType(prop["cert_list_type"].native)
    cert_list = prop["cert_list"]
    certificates: tuple[bytes, ...] = ()
    digests: tuple[CertDigest, ...] = ()
    if kind is CertListType.CERTIFICATES:
        certificates = tuple(bytes(c.native) for c in cert_list)
    else:
        digests = tuple(CertDigest(str(d["type"].native), bytes(d["value"].native)) for d in cert_list)
    return ParsedSeal(
        der=bytes(seal.dump()),
        seal_info_der=bytes(info.dump()),
        header_id=str(header["id"].native),
        version=int(header["version"].native),
        vendor_id=str(header["vid"].native),
        es_id=str(info["es_id"].native),
        seal_type=int(prop["type"].native),
        name=str(prop["name"].native),
        cert_list_type=kind,
        certificates=certificates,
        cert_digests=digests,
        created_at=_read_time(prop["create_date"]),
        valid_start=_read_time(prop["valid_start"]),
        valid_end=_read_time(prop["valid_end"]),
        picture=SealPicture(
            type=str(picture["type"].native),
            data=bytes(picture["data"].native),
            width_mm=int(picture["width"].native),
            height_mm=int(picture["height"].native),
        ),
        ext_datas=_read_ext_datas(info["ext_datas"]),
        maker_certificate=bytes(seal["cert"].native),
        sign_algorithm_oid=str(seal["sign_alg_id"].dotted),
        signed_value=bytes(seal["signed_value"].native),
    )


def parse_seal(der: bytes) -> ParsedSeal:
    """Every field of an SESeal v4; SesFormatError when the bytes are not one."""
    try:
        return _parse_seal_value(SESeal.load(der, strict=True))
    except SesFormatError:
        raise
    except ASN1_ERRORS as exc:
        raise SesFormatError(f"not an SESeal v4: {exc}") from None


def parse_signature(der: bytes) -> ParsedSignature:
    """Every field of an SES_Signature v4; SesFormatError when the bytes are not one."""
    try:
        value = SESSignature.load(der, strict=True)
        tbs = value["to_sign"]
        if tbs["version"].native != SES_VERSION:
            raise SesFormatError(f"TBS_Sign.version {tbs['version'].native} is not 4")
        stamp = value["time_stamp"]
        return ParsedSignature(
            der=der,
            tbs_der=bytes(tbs.dump()),
            version=int(tbs["version"].native),
            seal=_parse_seal_value(tbs["eseal"]),
            time_info=_read_time(tbs["time_info"]),
            data_hash=bytes(tbs["data_hash"].native),
            property_info=str(tbs["property_info"].native),
            ext_datas=_read_ext_datas(tbs["ext_datas"]),
            signer_certificate=bytes(value["cert"].native),
            signature_algorithm_oid=str(value["signature_alg_id"].dotted),
            signature=bytes(value["signature"].native),
            time_stamp=None if isinstance(stamp, core.Void) else bytes(stamp.native),
        )
    except SesFormatError:
        raise
    except ASN1_ERRORS as exc:
        raise SesFormatError(f"not an SES_Signature v4: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True, slots=True)
class DocumentDigest:
    """A document given by its digest instead of its bytes."""

    value: bytes


@dataclass(frozen=True, slots=True)
class SealReference:
    """How a revocation source recognises a seal: its esID and its maker's certificate."""

    es_id: str
    maker_certificate_sha256: str


# Returns when the seal was revoked, or None when it is not known to be revoked.
RevocationLookup = Callable[[SealReference], datetime | None]


def _chain_check(name: CheckName, result: ChainResult, what: str) -> CheckResult:
    if result.valid:
        return CheckResult.ok(name, f"{what}: {result.detail}")
    sub = {
        ChainStatus.EXPIRED: SubIndication.EXPIRED,
        ChainStatus.NOT_YET_VALID: SubIndication.NOT_YET_VALID,
    }.get(result.status, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    return CheckResult.failed(name, sub, f"{what}: {result.detail}")


def _subject(der: bytes) -> str | None:
    try:
        return describe_certificate(der).subject
    except CertificateError:
        return None


def _seal_checks(
    seal: ParsedSeal,
    *,
    at: datetime,
    trust_anchors: Sequence[bytes],
    intermediates: Sequence[bytes],
    checks: list[CheckResult],
) -> ChainResult | None:
    """Append the maker-signature, maker-chain and validity checks; returns the maker's chain."""
    try:
        maker = certificate_verifier(seal.maker_certificate)
        algorithm = algorithm_for_signature_oid(seal.sign_algorithm_oid)
    except (CertificateError, KeyFormatError) as exc:
        checks.append(
            CheckResult.failed(CheckName.SEAL_MAKER_SIGNATURE, SubIndication.FORMAT_FAILURE, str(exc))
        )
        return None
    if maker.algorithm is algorithm and maker.verify(seal.signed_value, seal.seal_info_der):
        checks.append(
            CheckResult.ok(CheckName.SEAL_MAKER_SIGNATURE, "maker signature over SES_SealInfo verifies")
        )
    else:
        checks.append(
            CheckResult.failed(
                CheckName.SEAL_MAKER_SIGNATURE,
                SubIndication.SIG_CRYPTO_FAILURE,
                "maker signature over SES_SealInfo does not verify",
            )
        )
    # The maker signed when the seal was made, so its certificate must have been good then.
    chain = verify_chain(
        seal.maker_certificate, trust_anchors=trust_anchors, at=seal.created_at, intermediates=intermediates
    )
    checks.append(_chain_check(CheckName.SEAL_MAKER_CHAIN, chain, "seal maker certificate"))
    if at < seal.valid_start or at < seal.created_at:
        checks.append(
            CheckResult.failed(
                CheckName.SEAL_VALIDITY,
                SubIndication.NOT_YET_VALID,
                f"seal not valid before {seal.valid_start}",
            )
        )
    elif at > seal.valid_end:
        checks.append(
            CheckResult.failed(
                CheckName.SEAL_VALIDITY, SubIndication.EXPIRED, f"seal expired {seal.valid_end}"
            )
        )
    else:
        checks.append(
            CheckResult.ok(CheckName.SEAL_VALIDITY, f"seal valid from {seal.valid_start} to {seal.valid_end}")
        )
    return chain


def _signer_in_seal(seal: ParsedSeal, signer_certificate: bytes) -> bool:
    if seal.cert_list_type is CertListType.CERTIFICATES:
        return any(hmac.compare_digest(c, signer_certificate) for c in seal.certificates)
    for entry in seal.cert_digests:
        expected = _certificate_digest(entry.type, signer_certificate)
        if expected is not None and hmac.compare_digest(expected, entry.value):
            return True
    return False


def verify_seal(
    seal_der: bytes,
    *,
    trust_anchors: Sequence[bytes],
    at: datetime,
    intermediates: Sequence[bytes] = (),
) -> ValidationReport:
    """Validate a seal on its own: structure, maker signature, maker chain, validity at `at`."""
    checks: list[CheckResult] = []
    try:
        seal = parse_seal(seal_der)
    except SesFormatError as exc:
        checks.append(CheckResult.failed(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, str(exc)))
        return ValidationReport.from_checks(checks)
    checks.append(CheckResult.ok(CheckName.FORMAT, "SESeal v4 parsed"))
    when = _utc_seconds(at)
    chain = _seal_checks(
        seal, at=when, trust_anchors=trust_anchors, intermediates=intermediates, checks=checks
    )
    info = SignatureInfo(
        es_id=seal.es_id,
        seal_name=seal.name,
        seal_type_code=seal.seal_type,
        seal_valid_from=seal.valid_start,
        seal_valid_to=seal.valid_end,
        maker_subject=_subject(seal.maker_certificate),
        trust_anchor_subject=_subject(chain.anchor_der) if chain and chain.anchor_der else None,
    )
    return ValidationReport.from_checks(checks, info)


def verify_ses_signature(
    signature_der: bytes,
    document: bytes | DocumentDigest,
    *,
    trust_anchors: Sequence[bytes],
    revocation_lookup: RevocationLookup | None = None,
    intermediates: Sequence[bytes] = (),
    validation_time: datetime | None = None,
) -> ValidationReport:
    """Validate an SES_Signature against a document (bytes or digest) and the registered trust anchors.

    Checks, in order: structure; maker signature over SES_SealInfo; maker certificate chain;
    seal validity at the signing time; signer certificate in the seal's list; signer chain;
    dataHash against the document; signature over TBS_Sign; revocation before the signing time.
    """
    now = _utc_seconds(validation_time or datetime.now(UTC))
    checks: list[CheckResult] = []
    try:
        parsed = parse_signature(signature_der)
        algorithm = algorithm_for_signature_oid(parsed.signature_algorithm_oid)
        signer = certificate_verifier(parsed.signer_certificate)
    except (SesFormatError, KeyFormatError, CertificateError) as exc:
        checks.append(CheckResult.failed(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, str(exc)))
        return ValidationReport.from_checks(checks)
    seal = parsed.seal
    signed_at = parsed.time_info
    if signed_at > now + CLOCK_SKEW:
        checks.append(
            CheckResult.failed(
                CheckName.FORMAT, SubIndication.FORMAT_FAILURE, f"signing time {signed_at} is in the future"
            )
        )
        return ValidationReport.from_checks(checks)
    checks.append(CheckResult.ok(CheckName.FORMAT, "SES_Signature v4 parsed"))

    maker_chain = _seal_checks(
        seal, at=signed_at, trust_anchors=trust_anchors, intermediates=intermediates, checks=checks
    )

    if _signer_in_seal(seal, parsed.signer_certificate):
        checks.append(CheckResult.ok(CheckName.SIGNER_IN_SEAL, "signer certificate is in the seal's list"))
    else:
        checks.append(
            CheckResult.failed(
                CheckName.SIGNER_IN_SEAL,
                SubIndication.SIGNER_NOT_IN_SEAL,
                "signer certificate is not in the seal's certificate list",
            )
        )

    signer_chain = verify_chain(
        parsed.signer_certificate, trust_anchors=trust_anchors, at=signed_at, intermediates=intermediates
    )
    checks.append(_chain_check(CheckName.SIGNER_CHAIN, signer_chain, "signer certificate"))

    expected = document.value if isinstance(document, DocumentDigest) else digest(algorithm, document)
    if len(parsed.data_hash) == DIGEST_SIZE and hmac.compare_digest(expected, parsed.data_hash):
        checks.append(CheckResult.ok(CheckName.DATA_HASH, f"{algorithm.digest_name} of the document matches"))
    else:
        checks.append(
            CheckResult.failed(
                CheckName.DATA_HASH,
                SubIndication.HASH_FAILURE,
                f"{algorithm.digest_name} of the document does not match dataHash",
            )
        )

    if signer.algorithm is algorithm and signer.verify(parsed.signature, parsed.tbs_der):
        checks.append(CheckResult.ok(CheckName.SIGNATURE_VALUE, "signature over TBS_Sign verifies"))
    else:
        checks.append(
            CheckResult.failed(
                CheckName.SIGNATURE_VALUE,
                SubIndication.SIG_CRYPTO_FAILURE,
                "signature over TBS_Sign does not verify",
            )
        )

    if revocation_lookup is not None:
        reference = SealReference(seal.es_id, hashlib.sha256(seal.maker_certificate).hexdigest())
        revoked_at = revocation_lookup(reference)
        if revoked_at is not None and revoked_at <= signed_at:
            checks.append(
                CheckResult.failed(
                    CheckName.REVOCATION, SubIndication.REVOKED, f"seal revoked {revoked_at}, before signing"
                )
            )
        elif revoked_at is not None:
            checks.append(CheckResult.ok(CheckName.REVOCATION, f"seal revoked {revoked_at}, after signing"))
        else:
            checks.append(CheckResult.ok(CheckName.REVOCATION, "seal not known to be revoked"))

    anchor = signer_chain.anchor_der or (maker_chain.anchor_der if maker_chain else None)
    info = SignatureInfo(
        es_id=seal.es_id,
        seal_name=seal.name,
        seal_type_code=seal.seal_type,
        seal_valid_from=seal.valid_start,
        seal_valid_to=seal.valid_end,
        signing_time=signed_at,
        signature_algorithm=algorithm.value,
        digest_algorithm=algorithm.digest_name,
        signer_subject=_subject(parsed.signer_certificate),
        maker_subject=_subject(seal.maker_certificate),
        trust_anchor_subject=_subject(anchor) if anchor else None,
        property_info=parsed.property_info,
    )
    return ValidationReport.from_checks(checks, info)

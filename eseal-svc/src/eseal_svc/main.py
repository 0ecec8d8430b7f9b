"""Electronic seal service: the app factory (`uvicorn --factory eseal_svc.main:create_app`)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from tongban_contracts import topics
from tongban_kit.app import ServiceRuntime, create_service_app
from tongban_kit.crypto import FieldCipher

from eseal_svc.adapters.crypto.keywrap import KeyWrapper, WrapAlgorithm
from eseal_svc.adapters.keyring import Keyring
from eseal_svc.api import licences, seals, signatures, status_lists, trust
from eseal_svc.api.deps import install_error_handlers
from eseal_svc.config import Settings, get_settings
from eseal_svc.entrypoints.seed import seed
from eseal_svc.service_layer.context import EsealContext, utc_now
from eseal_svc.service_layer.pki import ensure_pkis
from eseal_svc.service_layer.trust import TrustStore

SERVICE_ROOT = Path(__file__).resolve().parents[2]
# Batches of signatures to verify and PDFs travel base64-encoded in JSON.
BATCH_BODY_BYTES = 16 * 1_048_576


def create_app(settings: Settings | None = None, *, http: httpx.AsyncClient | None = None) -> FastAPI:
    """Build the eseal service app; tests may pass an HTTP client for other deployments' status lists."""
    settings = settings or get_settings()

    async def start(runtime: ServiceRuntime) -> None:
        wrapper = KeyWrapper(settings.kek_bytes, WrapAlgorithm.parse(settings.kek_algorithm), settings.kek_id)
        keyring = Keyring(wrapper)
        await ensure_pkis(runtime.uow, keyring, settings.provinces, utc_now())
        client = http or httpx.AsyncClient(timeout=settings.remote_fetch_timeout, follow_redirects=False)
        ctx = EsealContext(
            settings=settings,
            keyring=keyring,
            trust=TrustStore(runtime.uow),
            cipher=FieldCipher(settings.field_key, settings.field_cipher),
            uow=runtime.uow,
            http=client,
        )
        runtime.extras.update(eseal=ctx, owned_http=None if http else client)
        await seed(ctx)

    async def stop(runtime: ServiceRuntime) -> None:
        client = runtime.extras.get("owned_http")
        if client is not None:
            await client.aclose()

    pdf_body = settings.max_pdf_bytes * 4 // 3 + 65_536
    app = create_service_app(
        service="eseal",
        title="Electronic seal service",
        description=(
            "Organisations' electronic seals (GB/T 38540 SESeal v4, SM2/SM3 by default, ECDSA P-256 or "
            "Ed25519 for international partners), document signatures (SES_Signature, PAdES B-B for PDFs) "
            "with DSS-style validation reports, and mutually recognised electronic licences as W3C "
            "Verifiable Credentials (vc+jwt) with Bitstring Status Lists and a trust registry."
        ),
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[
            seals.router,
            signatures.router,
            licences.router,
            licences.types_router,
            status_lists.router,
            trust.router,
        ],
        topics=topics.ALL_TOPICS,
        on_startup=[start],
        on_shutdown=[stop],
        body_limit_overrides={
            "/v1/signatures/verify/batch": BATCH_BODY_BYTES,
            "/v1/signatures/pdf": pdf_body,
            "/v1/signatures/pdf/verify": pdf_body,
        },
    )
    install_error_handlers(app)
    return app

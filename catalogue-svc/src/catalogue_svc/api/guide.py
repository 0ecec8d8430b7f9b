"""The service guide (办事指南) as JSON or, with ``Accept: text/html``, as a printable page."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from catalogue_svc.api.deps import ReadUowDep
from catalogue_svc.api.items import BasicCodePath
from catalogue_svc.api.schemas import GuideOut
from catalogue_svc.service_layer import queries

router = APIRouter(prefix="/v1", tags=["guide"])


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("catalogue_svc.api", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _quality(accept: str, media_type: str) -> float:
    """The q-value the Accept header gives a media type (exact, type/*, */*; most specific wins)."""
    main = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        candidate = fields[0].lower()
        specificity = (
            2
            if candidate == media_type
            else 1
            if candidate == f"{main}/*"
            else 0
            if candidate == "*/*"
            else -1
        )
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def wants_html(accept: str | None) -> bool:
    """Tell whether the client prefers HTML to JSON (JSON wins ties and a missing Accept)."""
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


@router.get(
    "/items/{basic_code}/guide",
    response_model=GuideOut,
    summary="The service guide",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def get_guide(
    basic_code: BasicCodePath,
    request: Request,
    uow: ReadUowDep,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="include this province's details")
    ] = None,
) -> Response:
    """What a citizen reads before applying: JSON, or a printable page with Accept: text/html."""
    read = await queries.guide(basic_code, region=region, uow=uow)
    headers = {"Vary": "Accept"}
    if wants_html(request.headers.get("accept")):
        html = _templates().get_template("guide.html").render(guide=read.document)
        return HTMLResponse(html, headers=headers)
    return JSONResponse(read.document, headers=headers)

"""GET /studio: where a signed-in person starts: the chosen workspace and what to do next."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from maas.web import render
from maas.web.context import StudioDep

router = APIRouter(include_in_schema=False)


@router.get("/studio")
async def home(studio: StudioDep) -> Response:
    return render.page(studio, "home.html", crumbs=[("Home", None)])

"""The workspace picker: account (subscription) → resource group → workspace.

GET  /studio/workspace?sub=&rg=&next=   the three lists, each filtered by what the caller may
                                        read (links: no JavaScript needed)
POST /studio/workspace                  remember the choice for this user (server-side, by
                                        principal id), then go to `next`

A resource group shows when the caller may read it, or may read a workspace in it (a role on a
workspace alone still finds that workspace).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import accounts, workspaces
from maas.controlplane.services import studio as sessions
from maas.core.errors import MaasError
from maas.web import render
from maas.web.context import StudioDep, StudioFormDep, in_words
from maas.web.routes.auth import safe_next

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Choice:
    """One workspace the caller may read, by the names its id is made of."""

    sub: str
    rg: str
    name: str
    location: str


def _choice(found: Resource) -> Choice:
    parts = found.id.strip("/").split("/")
    return Choice(parts[1], parts[3], parts[7], found.location or "")


@router.get("/studio/workspace")
async def picker(studio: StudioDep) -> Response:
    params = studio.request.query_params
    sub, rg = params.get("sub", "")[:64], params.get("rg", "")[:90]
    next_path = safe_next(params.get("next"))
    alert = ""
    found_accounts = await studio.call(accounts.list_accounts)
    groups: list[str] = []
    spaces: list[Choice] = []
    if sub:
        try:
            readable = await studio.call(accounts.list_resource_groups, sub)
            in_account = await studio.call(workspaces.list_workspaces, sub, None)
        except MaasError as error:
            alert = in_words(error)
        else:
            names = {g.name for g in readable} | {_choice(w).rg for w in in_account}
            groups = sorted(names, key=str.lower)
            if rg:
                spaces = [_choice(w) for w in in_account if _choice(w).rg.lower() == rg.lower()]
    return render.page(
        studio,
        "workspace/picker.html",
        crumbs=[("Home", "/studio"), ("Choose a workspace", None)],
        accounts=found_accounts,
        groups=groups,
        spaces=spaces,
        sub=sub,
        rg=rg,
        next=next_path,
        next_query=quote(next_path, safe="/"),
        alert=alert,
    )


@router.post("/studio/workspace")
async def choose(studio: StudioFormDep) -> Response:
    form = await studio.form()
    sub, rg, name = form.get("sub"), form.get("rg"), form.get("name")
    next_path = safe_next(form.get("next"))
    try:
        await studio.call(sessions.remember_workspace, sub, rg, name)
    except MaasError as error:
        found_accounts = await studio.call(accounts.list_accounts)
        return render.page(
            studio,
            "workspace/picker.html",
            status=error.status,
            crumbs=[("Home", "/studio"), ("Choose a workspace", None)],
            accounts=found_accounts,
            groups=[],
            spaces=[],
            sub=sub,
            rg=rg,
            next=next_path,
            next_query=quote(next_path, safe="/"),
            alert=in_words(error),
        )
    return render.redirect(studio.request, next_path)

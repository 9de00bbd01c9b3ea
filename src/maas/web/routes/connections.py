"""Connections of the chosen workspace (issue 14 item 8): the seed's way to use an endpoint from
another workspace (a model from a region the offer does not serve in this one).

GET  /studio/connections?after=             the workspace's connections, in pages, and the form
                                            to create one
POST /studio/connections                    create one: either the Target URI and key typed in
                                            (as `maas ml connection create -f` takes `endpoint`
                                            and `api_key`), or a serverless endpoint the user can
                                            read in any workspace, whose Target URI and key the
                                            service fills in (`connections.connect_endpoint`)
POST /studio/connections/{name}/delete      delete one (with confirm)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import accounts, connections, resources
from maas.core.errors import MaasError
from maas.core.ids import ENDPOINT_TYPE
from maas.protocol.management import kinds
from maas.protocol.management.arm import parse_body
from maas.protocol.management.workspaces import ConnectionBody
from maas.web import render
from maas.web.context import Form, Studio, StudioDep, StudioFormDep, in_words

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_ENDPOINTS = 200  # choices in the endpoint list; more: type the Target URI and key
WRITE = kinds.CONNECTION.write
DELETE = kinds.CONNECTION.delete
LIST_KEYS = f"{ENDPOINT_TYPE}/listKeys/action"
FIELD_NAMES = {"properties.target": "Target URI", "properties.credentials.key": "Key"}


@dataclass(frozen=True)
class Place:
    sub: str
    rg: str
    ws: str

    @classmethod
    def of(cls, workspace: Resource) -> Place:
        parts = workspace.id.strip("/").split("/")
        return cls(parts[1], parts[3], parts[7])


@dataclass(frozen=True)
class EndpointChoice:
    id: str
    name: str
    workspace: str
    location: str
    uri: str
    reason: str  # why it cannot be chosen (the missing action), or ""


async def endpoint_choices(studio: Studio) -> list[EndpointChoice]:
    """Serverless endpoints the user can read, in every account they see (at most MAX_ENDPOINTS)."""
    found: list[EndpointChoice] = []
    only_endpoints = f"resourceType eq '{ENDPOINT_TYPE}'"
    for account in await studio.call(accounts.list_accounts):
        if len(found) >= MAX_ENDPOINTS:
            break
        try:
            page = await studio.call(
                resources.list_resources, account.name, None, only_endpoints, None, MAX_ENDPOINTS - len(found)
            )
        except MaasError:
            continue
        for item in page.items:
            parts = item.id.strip("/").split("/")
            uri = str((item.properties.get("inferenceEndpoint") or {}).get("uri") or "")
            reason = "" if studio.can(LIST_KEYS, item.id) else f"you need {LIST_KEYS}"
            if not uri:
                reason = reason or "no Target URI yet"
            found.append(
                EndpointChoice(item.id, item.name, f"{parts[3]}/{parts[7]}", item.location or "", uri, reason)
            )
    return found


async def _page(
    studio: Studio,
    *,
    alert: str = "",
    notice: str = "",
    status: int = 200,
    entered: dict[str, str] | None = None,
) -> Response:
    workspace = studio.need_workspace()
    place = Place.of(workspace)
    after = studio.request.query_params.get("after", "")[:1024] or None
    listed = await studio.call(connections.list_connections, place.sub, place.rg, place.ws, after, PAGE_SIZE)
    rows = [
        {
            "resource": item,
            "reason": "" if studio.can(DELETE, item.id) else f"You need {DELETE} on {item.name}.",
        }
        for item in listed.items
    ]
    create_reason = (
        "" if studio.can(WRITE, workspace.id) else f"You need {WRITE} on the workspace {place.ws}."
    )
    choices = await endpoint_choices(studio) if not create_reason else []
    next_url = f"/studio/connections?{urlencode({'after': listed.next_token})}" if listed.next_token else None
    return render.page(
        studio,
        "connections/list.html",
        nav="connections",
        status=status,
        crumbs=[("Connections", None)],
        place=place,
        rows=rows,
        choices=choices,
        create_reason=create_reason,
        entered=entered or {"name": "", "target": "", "endpoint": ""},
        first_url="/studio/connections" if after else None,
        next_url=next_url,
        alert=alert,
        notice=notice,
    )


@router.get("/studio/connections")
async def list_page(studio: StudioDep) -> Response:
    params = studio.request.query_params
    notice = ""
    if params.get("created"):
        notice = f"Created the connection {params['created'][:100]}."
    elif params.get("deleted"):
        notice = f"Deleted the connection {params['deleted'][:100]}."
    return await _page(studio, notice=notice)


def _typed_body(target: str, key: str) -> ConnectionBody:
    """The body `PUT …/connections/{name}` takes, from the typed Target URI and key (the API's
    own parsing and messages, with the fields named as the form names them)."""
    properties: dict[str, Any] = {"category": "Serverless", "target": target, "authType": "ApiKey"}
    if key:
        properties["credentials"] = {"key": key}
    raw = {"properties": properties}
    try:
        return parse_body(ConnectionBody, json.dumps(raw).encode())
    except MaasError as error:
        if FIELD_NAMES.get(error.target or "") == "Target URI":
            raise ValueError(
                "The Target URI must be a full http:// or https:// URL, like the Target URI on the "
                "endpoint's page."
            ) from None
        raise ValueError(error.message.replace("'properties.credentials.key'", "The key")) from None


async def _create(studio: Studio, form: Form) -> str:
    """Create the connection the form describes; its name."""
    workspace = studio.need_workspace()
    place = Place.of(workspace)
    name = form.get("name").strip()
    endpoint = form.get("endpoint").strip()
    target, key = form.get("target").strip(), form.get("key").strip()
    if not name:
        raise ValueError("Enter a name for the connection.")
    try:
        await studio.call(connections.get_connection, place.sub, place.rg, place.ws, name)
    except MaasError:
        pass  # not there (or not readable: the create says why)
    else:
        raise ValueError(f"A connection named {name} already exists in {place.ws}. Choose another name.")
    if endpoint:
        if target or key:
            raise ValueError(
                "Choose an endpoint or type a Target URI and key, not both: the endpoint's own are used."
            )
        await studio.call(connections.connect_endpoint, place.sub, place.rg, place.ws, name, endpoint)
        return name
    if not target or not key:
        raise ValueError("Choose an endpoint, or type both its Target URI and its key.")
    body = _typed_body(target, key)
    await studio.call(connections.put_connection, place.sub, place.rg, place.ws, name, body)
    return name


@router.post("/studio/connections")
async def create(studio: StudioFormDep) -> Response:
    form = await studio.form()
    entered = {
        "name": form.get("name")[:200],
        "target": form.get("target")[:2048],
        "endpoint": form.get("endpoint"),
    }
    try:
        name = await _create(studio, form)
    except ValueError as problem:
        return await _page(studio, alert=str(problem), status=400, entered=entered)
    except MaasError as error:
        return await _page(studio, alert=in_words(error), status=error.status, entered=entered)
    return render.redirect(studio.request, f"/studio/connections?{urlencode({'created': name})}")


@router.post("/studio/connections/{name}/delete")
async def delete(name: str, studio: StudioFormDep) -> Response:
    workspace = studio.need_workspace()
    place = Place.of(workspace)
    try:
        existed = await studio.call(connections.delete_connection, place.sub, place.rg, place.ws, name)
    except MaasError as error:
        return await _page(studio, alert=in_words(error), status=error.status)
    if not existed:
        message = f"There is no connection {name} in {place.ws} (it may have been deleted already)."
        return await _page(studio, alert=message, status=404)
    return render.redirect(studio.request, f"/studio/connections?{urlencode({'deleted': name})}")

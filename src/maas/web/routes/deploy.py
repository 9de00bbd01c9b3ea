"""The deploy wizard: a model's Details → Deploy → Serverless API.

GET  /studio/deploy?model=<id>            the offer; for a marketplace offer the "Azure
                                          Marketplace Terms" link, the purchase-policy checkbox and
                                          "Subscribe and Deploy", or the note that the workspace
                                          already has a subscription and "Continue to deploy";
                                          a first-party offer goes straight to the name step
GET  /studio/deploy/terms?model=<id>      the offer's terms text (the "Azure Marketplace Terms")
POST /studio/deploy/subscribe             model, acknowledge=on: the marketplace subscription
                                          (refused in words without the box ticked)
GET  /studio/deploy/name?model=<id>       the deployment name, prefilled as Azure does
GET  /studio/deploy/check-name?name=      the name checked as it is typed (an htmx fragment)
POST /studio/deploy/create                model, name: creates the serverless endpoint
GET  /studio/deploy/progress/{name}       its state, polled by htmx every second (a meta refresh
                                          without JavaScript) until Succeeded, then the
                                          endpoint's page /studio/endpoints/{name}

Every step calls the services as the signed-in caller (`serverless_deploy`, `marketplace`,
`endpoints`): the API's checks and errors apply, and its errors show on the step in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services import catalog_browse, endpoints, serverless_deploy
from maas.controlplane.services.catalog_browse import CatalogEntry
from maas.controlplane.services.offers import is_marketplace
from maas.core.errors import BadRequest, MaasError
from maas.core.ids import ModelId
from maas.protocol.management import kinds
from maas.web import render
from maas.web.context import Studio, StudioDep, StudioFormDep, in_words

router = APIRouter(include_in_schema=False)

DEPLOY_ACTION = f"{kinds.SERVERLESS_ENDPOINT.action}/write"
SUBSCRIBE_ACTION = f"{kinds.MARKETPLACE_SUBSCRIPTION.action}/write"
ACKNOWLEDGE = "I acknowledge the Microsoft purchase policy"
NOT_TICKED = (
    f"Tick the box \u201c{ACKNOWLEDGE}\u201d to subscribe: subscribing accepts the offer's terms "
    "and its price."
)
POLL_SECONDS = 1


@dataclass(frozen=True)
class Place:
    """The chosen workspace, by the names its id is made of."""

    sub: str
    rg: str
    ws: str
    location: str
    id: str


def workspace_place(workspace: Resource) -> Place:
    parts = workspace.id.strip("/").split("/")
    return Place(parts[1], parts[3], parts[7], workspace.location or "", workspace.id)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _model_id(value: str) -> ModelId:
    if not value:
        raise BadRequest(
            "No model was chosen. Open the Model catalog, select a model, then Deploy → Serverless API.",
            target="model",
        )
    return ModelId.parse(value[:1024], target="model")


async def _entry(studio: Studio, value: str) -> CatalogEntry:
    parsed = _model_id(value)
    found = await studio.read(catalog_browse.details, parsed.registry, parsed.model)
    entry = found.entry
    if entry.offer is None:
        raise BadRequest(
            f"The model '{entry.model_id}' is not offered as a serverless API, so it cannot be "
            "deployed as one.",
            code="ModelNotOfferedServerless",
            target="model",
        )
    return entry


def _query(**values: str) -> str:
    return urlencode(values)


def _deploy_reason(studio: Studio, place: Place, workspace_name: str, marketplace: bool) -> str:
    """Why the caller may not deploy here (the first missing action), or ""."""
    needed = ([SUBSCRIBE_ACTION] if marketplace else []) + [DEPLOY_ACTION]
    for action in needed:
        if not studio.can(action, place.id):
            return f"You need {action} on the workspace {workspace_name}."
    return ""


def _region_note(entry: CatalogEntry, place: Place) -> str:
    if entry.deploys_in(place.location):
        return ""
    offered = ", ".join(entry.regions)
    return (
        f"This offer is not available in your workspace's region ({place.location}); it is offered "
        f"in: {offered}. Choose a workspace in one of those regions."
    )


def _crumbs(entry: CatalogEntry, step: str) -> render.Crumbs:
    return [
        ("Model catalog", "/studio/catalog"),
        (entry.display_name, f"/studio/catalog/{entry.registry}/{entry.name}"),
        (step, None),
    ]


async def _subscribe_page(
    studio: Studio, entry: CatalogEntry, *, status: int = 200, alert: str = ""
) -> Response:
    workspace = studio.need_workspace()
    place = workspace_place(workspace)
    existing = None
    try:
        existing = await studio.call(
            serverless_deploy.existing_subscription, place.sub, place.rg, place.ws, entry.model_id
        )
    except MaasError as error:
        alert = alert or in_words(error)
    return render.page(
        studio,
        "deploy/subscribe.html",
        nav="catalog",
        status=status,
        crumbs=_crumbs(entry, "Deploy"),
        entry=entry,
        offer=entry.offer.properties if entry.offer is not None else {},
        place=place,
        existing=existing,
        alert=alert,
        acknowledge=ACKNOWLEDGE,
        deploy_action=DEPLOY_ACTION,
        reason=_deploy_reason(studio, place, workspace.name, marketplace=True),
        region_note=_region_note(entry, place),
        model_query=_query(model=entry.model_id),
    )


@router.get("/studio/deploy")
async def wizard(studio: StudioDep) -> Response:
    studio.need_workspace()
    entry = await _entry(studio, studio.request.query_params.get("model", ""))
    assert entry.offer is not None
    if not is_marketplace(entry.offer):
        return render.redirect(studio.request, f"/studio/deploy/name?{_query(model=entry.model_id)}")
    return await _subscribe_page(studio, entry)


@router.get("/studio/deploy/terms")
async def terms(studio: StudioDep) -> Response:
    entry = await _entry(studio, studio.request.query_params.get("model", ""))
    assert entry.offer is not None
    return render.page(
        studio,
        "deploy/terms.html",
        nav="catalog",
        crumbs=_crumbs(entry, "Azure Marketplace Terms"),
        entry=entry,
        offer=entry.offer.properties,
        model_query=_query(model=entry.model_id),
    )


@router.post("/studio/deploy/subscribe")
async def subscribe(studio: StudioFormDep) -> Response:
    form = await studio.form()
    entry = await _entry(studio, _text(form.get("model")))
    place = workspace_place(studio.need_workspace())
    if _text(form.get("acknowledge")) != "on":
        return await _subscribe_page(studio, entry, status=400, alert=NOT_TICKED)
    try:
        await studio.call(serverless_deploy.subscribe, place.sub, place.rg, place.ws, entry.model_id)
    except MaasError as error:
        return await _subscribe_page(studio, entry, status=error.status, alert=in_words(error))
    return render.redirect(studio.request, f"/studio/deploy/name?{_query(model=entry.model_id)}")


@dataclass(frozen=True)
class NameCheck:
    ok: bool
    message: str


async def _check(studio: Studio, place: Place, name: str) -> NameCheck:
    if not name:
        return NameCheck(False, "Enter a name for the deployment.")
    try:
        location = await studio.call(
            serverless_deploy.check_endpoint_name, place.sub, place.rg, place.ws, name
        )
    except MaasError as error:
        return NameCheck(False, in_words(error))
    return NameCheck(True, f"'{name}' is available in {location}.")


async def _name_page(
    studio: Studio, entry: CatalogEntry, name: str, *, status: int = 200, alert: str = ""
) -> Response:
    workspace = studio.need_workspace()
    place = workspace_place(workspace)
    marketplace = entry.offer is not None and is_marketplace(entry.offer)
    reason = _deploy_reason(studio, place, workspace.name, marketplace=False)
    check = await _check(studio, place, name) if not reason else NameCheck(False, "")
    return render.page(
        studio,
        "deploy/name.html",
        nav="catalog",
        status=status,
        crumbs=_crumbs(entry, "Deploy"),
        entry=entry,
        place=place,
        name=name,
        check=check,
        alert=alert,
        reason=reason,
        marketplace=marketplace,
        region_note=_region_note(entry, place),
        model_query=_query(model=entry.model_id),
    )


@router.get("/studio/deploy/name")
async def name_step(studio: StudioDep) -> Response:
    place = workspace_place(studio.need_workspace())
    entry = await _entry(studio, studio.request.query_params.get("model", ""))
    assert entry.offer is not None
    if is_marketplace(entry.offer):
        try:
            existing = await studio.call(
                serverless_deploy.existing_subscription, place.sub, place.rg, place.ws, entry.model_id
            )
        except MaasError:
            existing = None  # the subscribe step says why in words
        if existing is None:
            return render.redirect(studio.request, f"/studio/deploy?{_query(model=entry.model_id)}")
    wanted = _text(studio.request.query_params.get("name", ""))[:128]
    return await _name_page(studio, entry, wanted or serverless_deploy.suggested_endpoint_name(entry.name))


def _fragment(template: str, **values: Any) -> HTMLResponse:
    return HTMLResponse(render.environment().get_template(template).render(values))


@router.get("/studio/deploy/check-name")
async def check_name(studio: StudioDep) -> Response:
    place = workspace_place(studio.need_workspace())
    name = _text(studio.request.query_params.get("name", ""))[:128]
    return _fragment("deploy/_name_check.html", check=await _check(studio, place, name))


@router.post("/studio/deploy/create")
async def create(studio: StudioFormDep) -> Response:
    form = await studio.form()
    entry = await _entry(studio, _text(form.get("model")))
    place = workspace_place(studio.need_workspace())
    name = _text(form.get("name"))[:128]
    try:
        if not name:
            raise BadRequest("Enter a name for the deployment.", target="name")
        await studio.call(
            serverless_deploy.create_endpoint, place.sub, place.rg, place.ws, name, entry.model_id
        )
    except MaasError as error:
        return await _name_page(studio, entry, name, status=error.status, alert=in_words(error))
    return render.redirect(studio.request, f"/studio/deploy/progress/{name}")


def shown_state(resource: Resource) -> str:
    """What the person reads: the provisioning state, or the endpoint's own state when it says
    more (Unhealthy, Suspended, CreationFailed)."""
    endpoint_state = str(resource.properties.get("endpointState") or "")
    if endpoint_state in {"Unhealthy", "Suspended", "CreationFailed", "Deleting"}:
        return endpoint_state
    return str(resource.provisioning_state)


@router.get("/studio/deploy/progress/{name}")
async def progress(name: str, studio: StudioDep) -> Response:
    place = workspace_place(studio.need_workspace())
    found = await studio.call(endpoints.get_endpoint, place.sub, place.rg, place.ws, name)
    state = found.provisioning_state
    if state is ProvisioningState.SUCCEEDED:
        return render.redirect(studio.request, f"/studio/endpoints/{found.name}")
    values: dict[str, Any] = {
        "endpoint": found,
        "state": shown_state(found),
        "done": state.is_terminal,
        "poll_url": f"/studio/deploy/progress/{found.name}",
        "poll_seconds": POLL_SECONDS,
    }
    if studio.request.headers.get("HX-Request") == "true":
        return _fragment("deploy/_progress.html", **values)
    return render.page(
        studio,
        "deploy/progress.html",
        nav="endpoints",
        crumbs=[("Endpoints", "/studio/endpoints"), (found.name, None)],
        **values,
    )

"""Operator pages, for Owners at `/` (`nav.is_operator`); anyone else gets a page that says so.

GET  /studio/operator                         catalog models and offers (exact prices)
GET  /studio/operator/models/new              Add a model: a local folder (HF), a GGUF file or an
POST /studio/operator/models                  upstream URL (`catalog.put_model_version`, as `maas model add`)
GET  /studio/operator/offers/new              Create an offer: prices per 1K tokens, regions, terms
POST /studio/operator/offers                  (`offers.put_offer`, as `maas offer create`)
GET  /studio/operator/pools                   the pools this process runs (`GET .../pools`' data)
GET  /studio/operator/principals              users and service principals
POST /studio/operator/users                   create a user with a password (`directory.put_user`)
POST /studio/operator/users/{upn}/enabled     disable or enable a user
POST /studio/operator/users/{upn}/delete      delete a user
POST /studio/operator/service-principals      create one and show its secret once (`put_service_principal`,
                                              `add_password`)
POST /studio/operator/service-principals/{app_id}/enabled|delete
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.api.deps import process_of
from maas.controlplane.services import catalog, catalog_browse, directory, offers
from maas.core.errors import AuthorizationFailed, BadRequest, MaasError
from maas.core.ids import ModelId
from maas.protocol.management.arm import parse_body
from maas.protocol.management.catalog import ModelVersionBody
from maas.protocol.management.directory import AddPasswordBody, ServicePrincipalBody, UserBody
from maas.protocol.management.marketplace import OfferBody
from maas.web import render
from maas.web.context import Studio, StudioDep, StudioFormDep, in_words
from maas.web.nav import OPERATOR_ACTION, is_operator

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
SOURCES = {"huggingface": "Hugging Face folder", "gguf": "GGUF file", "openai-upstream": "Upstream URL"}
TASKS = ("chat-completion", "text-generation", "embeddings")
NO_STORE = {"Cache-Control": "no-store"}
TABS = {
    "catalog": ("Models and offers", "/studio/operator"),
    "pools": ("Pools", "/studio/operator/pools"),
    "principals": ("Principals", "/studio/operator/principals"),
}


def _text(form: Any, name: str, limit: int = 4096) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _operator(studio: Studio) -> None:
    """Refuse anyone who is not an Owner at `/` (the page says it in words)."""
    if not is_operator(studio.caller):
        raise AuthorizationFailed(
            "Operator pages are for Owners at the root scope (/).",
            action=OPERATOR_ACTION,
            scope="/",
            principal_id=studio.caller.principal.id,
            principal_name=studio.caller.principal.name,
        )


def _page(studio: Studio, template: str, tab: str, label: str | None = None, **values: Any) -> Response:
    crumbs: render.Crumbs = [("Operator", "/studio/operator" if label else None)]
    if label:
        crumbs.append((label, None))
    return render.page(studio, template, nav="operator", crumbs=crumbs, tab=tab, tabs=TABS, **values)


def _body(model: Any, data: dict[str, Any]) -> Any:
    return parse_body(model, json.dumps(data).encode())


# -- models and offers ----------------------------------------------------------------------------
@router.get("/studio/operator")
async def catalog_page(studio: StudioDep) -> Response:
    _operator(studio)
    params = studio.request.query_params
    number = (
        int(params["page"]) if params.get("page", "").isdigit() and 0 < int(params["page"]) < 100_000 else 1
    )
    listing = await studio.read(catalog_browse.browse, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    found_offers = sorted(await studio.read(offers.list_offers), key=lambda o: o.name.lower())
    return _page(
        studio,
        "operator/catalog.html",
        "catalog",
        listing=listing,
        offers=found_offers,
        notice=params.get("done", "")[:300],
        page_number=number,
        previous_url=f"/studio/operator?page={number - 1}" if number > 1 else None,
        next_url=f"/studio/operator?page={number + 1}" if listing.has_next else None,
    )


def _model_form(studio: Studio, form: dict[str, str], alert: str = "", status: int = 200) -> Response:
    return _page(
        studio,
        "operator/model_form.html",
        "catalog",
        "Add a model",
        form=form,
        sources=SOURCES,
        tasks=TASKS,
        alert=alert,
        status=status,
    )


@router.get("/studio/operator/models/new")
async def new_model(studio: StudioDep) -> Response:
    _operator(studio)
    return _model_form(studio, {"source": "huggingface", "task": "chat-completion"})


@router.post("/studio/operator/models")
async def add_model(studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    names = ("model_id", "source", "location", "upstream_model", "task", "description", "provider", "license")
    form = {name: _text(raw, name) for name in names}
    api_key = _text(raw, "api_key")
    try:
        parsed = ModelId.parse(form["model_id"])
        if parsed.version is None:
            raise BadRequest(
                "Give the model id with its version: azureml://registries/<registry>/models/<model>/versions/<version>.",
                target="model_id",
            )
        source = form["source"] if form["source"] in SOURCES else ""
        if not source or not form["location"]:
            raise BadRequest("Choose where the weights are and give its path or URL.", target="location")
        artifact: dict[str, Any] = {"kind": source}
        if source == "openai-upstream":
            artifact["url"] = form["location"]
            if form["upstream_model"]:
                artifact["upstreamModel"] = form["upstream_model"]
            if api_key:
                artifact["apiKey"] = api_key
        else:
            artifact["path"] = form["location"]
        body = _body(
            ModelVersionBody,
            {
                "properties": {
                    "task": form["task"] or "chat-completion",
                    "description": form["description"],
                    "provider": form["provider"],
                    "license": form["license"],
                    "artifact": artifact,
                }
            },
        )
        await studio.call(catalog.put_model_version, parsed.registry, parsed.model, parsed.version, body)
    except MaasError as error:
        return _model_form(studio, form, in_words(error), error.status)
    except ValueError as error:  # a model id that does not parse
        return _model_form(studio, form, str(error), 400)
    done = f"Added {form['model_id']} to the catalog."
    return render.redirect(studio.request, f"/studio/operator?{urlencode({'done': done})}")


def _offer_form(studio: Studio, form: dict[str, str], alert: str = "", status: int = 200) -> Response:
    return _page(
        studio,
        "operator/offer_form.html",
        "catalog",
        "Create an offer",
        form=form,
        alert=alert,
        status=status,
    )


@router.get("/studio/operator/offers/new")
async def new_offer(studio: StudioDep) -> Response:
    _operator(studio)
    model = studio.request.query_params.get("model", "")[:1024]
    return _offer_form(
        studio, {"model_id": model, "plan": "default", "currency": "USD", "kind": "Marketplace"}
    )


def _price(text: str, label: str) -> float:
    try:
        value = float(text or "0")
    except ValueError:
        raise BadRequest(f"The {label} '{text}' is not a number (e.g. 0.0003).", target=label) from None
    if value < 0 or value != value or value == float("inf"):
        raise BadRequest(f"The {label} must be 0 or more.", target=label)
    return value


@router.post("/studio/operator/offers")
async def create_offer(studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    names = (
        "name",
        "model_id",
        "publisher",
        "plan",
        "kind",
        "input_price",
        "output_price",
        "currency",
        "regions",
    )
    form = {name: _text(raw, name, 1024) for name in names} | {"terms": _text(raw, "terms", 100_000)}
    try:
        currency = form["currency"] or "USD"
        meters = [
            {
                "meterId": "paygo-inference-input-tokens",
                "pricePer1K": _price(form["input_price"], "input price"),
                "currency": currency,
            },
            {
                "meterId": "paygo-inference-output-tokens",
                "pricePer1K": _price(form["output_price"], "output price"),
                "currency": currency,
            },
        ]
        regions = [r.strip() for r in form["regions"].replace("\n", ",").split(",") if r.strip()]
        body = _body(
            OfferBody,
            {
                "properties": {
                    "modelId": form["model_id"],
                    "publisherId": form["publisher"],
                    "planId": form["plan"] or "default",
                    "kind": "FirstParty" if form["kind"] == "FirstParty" else "Marketplace",
                    "terms": form["terms"],
                    "regions": regions,
                    "meters": meters,
                }
            },
        )
        await studio.call(offers.put_offer, form["name"], body)
    except MaasError as error:
        return _offer_form(studio, form, in_words(error), error.status)
    done = f"Saved the offer {form['name']}."
    return render.redirect(studio.request, f"/studio/operator?{urlencode({'done': done})}")


# -- pools ------------------------------------------------------------------------------------------
@router.get("/studio/operator/pools")
async def pools_page(studio: StudioDep) -> Response:
    _operator(studio)
    studio.caller.require("Microsoft.MaaS/pools/read", "/")
    pools = process_of(studio.request).pools()
    views = [view.as_dict() for view in pools.views()] if pools is not None else None
    return _page(studio, "operator/pools.html", "pools", pools=views)


# -- principals -------------------------------------------------------------------------------------
async def _principals(
    studio: Studio,
    *,
    alert: str = "",
    status: int = 200,
    secret: Any = None,
    form: dict[str, str] | None = None,
) -> Response:
    users = await studio.call(directory.list_users)
    sps = await studio.call(directory.list_service_principals)
    return _page(
        studio,
        "operator/principals.html",
        "principals",
        users=users,
        sps=sps,
        alert=alert,
        notice=studio.request.query_params.get("done", "")[:300],
        secret=secret,
        form=form or {},
        me=studio.caller.principal.id,
        status=status,
        headers=NO_STORE if secret is not None else None,
    )


def _done(message: str) -> str:
    return f"/studio/operator/principals?{urlencode({'done': message})}"


@router.get("/studio/operator/principals")
async def principals_page(studio: StudioDep) -> Response:
    _operator(studio)
    return await _principals(studio)


@router.post("/studio/operator/users")
async def create_user(studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    form = {"upn": _text(raw, "upn", 256), "display_name": _text(raw, "display_name", 256)}
    password = raw.get("password")
    password = password if isinstance(password, str) else ""
    try:
        if not form["upn"] or not form["display_name"] or not password:
            raise BadRequest("A new user needs a user name, a display name and a password.", target="upn")
        existing = [
            u
            for u in await studio.call(directory.list_users)
            if u.user_principal_name.lower() == form["upn"].lower()
        ]
        if existing:
            raise BadRequest(f"A user named '{form['upn']}' already exists.", target="upn")
        body = _body(
            UserBody,
            {"properties": {"displayName": form["display_name"], "passwordProfile": {"password": password}}},
        )
        await studio.call(directory.put_user, form["upn"], body)
    except MaasError as error:
        return await _principals(studio, alert=in_words(error), status=error.status, form=form)
    return render.redirect(studio.request, _done(f"Created the user {form['upn']}."))


@router.post("/studio/operator/users/{upn}/enabled")
async def user_enabled(upn: str, studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    enable = _text(raw, "enabled", 8) == "true"
    try:
        await studio.call(
            directory.put_user, upn, _body(UserBody, {"properties": {"accountEnabled": enable}})
        )
    except MaasError as error:
        return await _principals(studio, alert=in_words(error), status=error.status)
    return render.redirect(studio.request, _done(f"{'Enabled' if enable else 'Disabled'} the user {upn}."))


@router.post("/studio/operator/users/{upn}/delete")
async def user_delete(upn: str, studio: StudioFormDep) -> Response:
    _operator(studio)
    try:
        await studio.call(directory.delete_user, upn)
    except MaasError as error:
        return await _principals(studio, alert=in_words(error), status=error.status)
    return render.redirect(studio.request, _done(f"Deleted the user {upn}."))


@router.post("/studio/operator/service-principals")
async def create_service_principal(studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    name = _text(raw, "sp_display_name", 256)
    try:
        if not name:
            raise BadRequest("A new service principal needs a display name.", target="sp_display_name")
        app_id = str(uuid.uuid4())
        await studio.call(
            directory.put_service_principal,
            app_id,
            _body(ServicePrincipalBody, {"properties": {"displayName": name}}),
        )
        added = await studio.call(
            directory.add_password, app_id, _body(AddPasswordBody, {"displayName": "Created in Studio"})
        )
    except MaasError as error:
        return await _principals(
            studio, alert=in_words(error), status=error.status, form={"sp_display_name": name}
        )
    return await _principals(studio, secret=added, status=201)


@router.post("/studio/operator/service-principals/{app_id}/enabled")
async def sp_enabled(app_id: str, studio: StudioFormDep) -> Response:
    _operator(studio)
    raw = await studio.form()
    enable = _text(raw, "enabled", 8) == "true"
    body = _body(ServicePrincipalBody, {"properties": {"accountEnabled": enable}})
    try:
        await studio.call(directory.put_service_principal, app_id, body)
    except MaasError as error:
        return await _principals(studio, alert=in_words(error), status=error.status)
    return render.redirect(
        studio.request, _done(f"{'Enabled' if enable else 'Disabled'} the service principal {app_id}.")
    )


@router.post("/studio/operator/service-principals/{app_id}/delete")
async def sp_delete(app_id: str, studio: StudioFormDep) -> Response:
    _operator(studio)
    try:
        await studio.call(directory.delete_service_principal, app_id)
    except MaasError as error:
        return await _principals(studio, alert=in_words(error), status=error.status)
    return render.redirect(studio.request, _done(f"Deleted the service principal {app_id}."))

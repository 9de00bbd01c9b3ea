"""Routes: the model catalog (registries, models, versions) and offers.

Reading the catalog needs only a valid token (the catalog is public to every principal);
writing it is an operator action checked like any other.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    deleted,
    json_body,
    read_body,
    rendered,
    rendered_list,
    saved,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.services import catalog, offers
from maas.protocol.management.catalog import ModelVersionBody, RegistryBody
from maas.protocol.management.marketplace import OfferBody
from maas.protocol.management.resources import ArmResource, ArmResourceList

router = APIRouter()
REG = "/registries/{registry}"
MODEL = REG + "/models/{model}"
VERSION = MODEL + "/versions/{version}"
OFFERS = "/providers/Microsoft.MaaS/offers"


@router.get("/registries", openapi_extra=returns(ArmResourceList))
async def list_registries(ctx: Ctx) -> Response:
    return rendered_list(await ctx.read(catalog.list_registries))


@router.put(REG, openapi_extra=json_body(RegistryBody) | returns(ArmResource))
async def put_registry(request: Request, registry: str, ctx: Ctx) -> Response:
    body = await read_body(request, RegistryBody)
    return saved(await ctx.call(catalog.put_registry, registry, body))


@router.get(REG, openapi_extra=returns(ArmResource))
async def get_registry(registry: str, ctx: Ctx) -> Response:
    return rendered(await ctx.read(catalog.get_registry, registry))


@router.get(REG + "/models", openapi_extra=returns(ArmResourceList))
async def list_models(registry: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.read(catalog.list_models, registry))


@router.get(MODEL, openapi_extra=returns(ArmResource))
async def get_model(registry: str, model: str, ctx: Ctx) -> Response:
    return rendered(await ctx.read(catalog.get_model, registry, model))


@router.get(MODEL + "/versions", openapi_extra=returns(ArmResourceList))
async def list_versions(registry: str, model: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.read(catalog.list_versions, registry, model))


@router.put(VERSION, openapi_extra=json_body(ModelVersionBody) | returns(ArmResource))
async def put_version(
    request: Request,
    registry: str,
    model: str,
    version: str,
    ctx: Ctx,
) -> Response:
    body = await read_body(request, ModelVersionBody)
    return saved(await ctx.call(catalog.put_model_version, registry, model, version, body))


@router.get(VERSION, openapi_extra=returns(ArmResource))
async def get_version(registry: str, model: str, version: str, ctx: Ctx) -> Response:
    return rendered(await ctx.read(catalog.get_version, registry, model, version))


@router.delete(VERSION)
async def delete_version(registry: str, model: str, version: str, ctx: Ctx) -> Response:
    await ctx.call(catalog.delete_version, registry, model, version)
    return deleted()


@router.get(OFFERS, openapi_extra=returns(ArmResourceList))
async def list_offers(ctx: Ctx) -> Response:
    return rendered_list(await ctx.read(offers.list_offers))


@router.put(OFFERS + "/{name}", openapi_extra=json_body(OfferBody) | returns(ArmResource))
async def put_offer(request: Request, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, OfferBody)
    return saved(await ctx.call(offers.put_offer, name, body))


@router.get(OFFERS + "/{name}", openapi_extra=returns(ArmResource))
async def get_offer(name: str, ctx: Ctx) -> Response:
    return rendered(await ctx.read(offers.get_offer, name))


@router.delete(OFFERS + "/{name}")
async def delete_offer(name: str, ctx: Ctx) -> Response:
    await ctx.call(offers.delete_offer, name)
    return deleted()

"""Routes: the model catalog (registries, models, versions) and offers.

Reading the catalog needs only a valid token (the catalog is public to every principal);
writing it is an operator action checked like any other.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    CallerDep,
    ServicesDep,
    call,
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
async def list_registries(services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered_list(await call(catalog.list_registries, services))


@router.put(REG, openapi_extra=json_body(RegistryBody) | returns(ArmResource))
async def put_registry(request: Request, registry: str, services: ServicesDep, caller: CallerDep) -> Response:
    body = await read_body(request, RegistryBody)
    return saved(await call(catalog.put_registry, services, caller, registry, body))


@router.get(REG, openapi_extra=returns(ArmResource))
async def get_registry(registry: str, services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered(await call(catalog.get_registry, services, registry))


@router.get(REG + "/models", openapi_extra=returns(ArmResourceList))
async def list_models(registry: str, services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered_list(await call(catalog.list_models, services, registry))


@router.get(MODEL, openapi_extra=returns(ArmResource))
async def get_model(registry: str, model: str, services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered(await call(catalog.get_model, services, registry, model))


@router.get(MODEL + "/versions", openapi_extra=returns(ArmResourceList))
async def list_versions(registry: str, model: str, services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered_list(await call(catalog.list_versions, services, registry, model))


@router.put(VERSION, openapi_extra=json_body(ModelVersionBody) | returns(ArmResource))
async def put_version(
    request: Request,
    registry: str,
    model: str,
    version: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    body = await read_body(request, ModelVersionBody)
    return saved(await call(catalog.put_model_version, services, caller, registry, model, version, body))


@router.get(VERSION, openapi_extra=returns(ArmResource))
async def get_version(
    registry: str, model: str, version: str, services: ServicesDep, _caller: CallerDep
) -> Response:
    return rendered(await call(catalog.get_version, services, registry, model, version))


@router.delete(VERSION)
async def delete_version(
    registry: str, model: str, version: str, services: ServicesDep, caller: CallerDep
) -> Response:
    await call(catalog.delete_version, services, caller, registry, model, version)
    return deleted()


@router.get(OFFERS, openapi_extra=returns(ArmResourceList))
async def list_offers(services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered_list(await call(offers.list_offers, services))


@router.put(OFFERS + "/{name}", openapi_extra=json_body(OfferBody) | returns(ArmResource))
async def put_offer(request: Request, name: str, services: ServicesDep, caller: CallerDep) -> Response:
    body = await read_body(request, OfferBody)
    return saved(await call(offers.put_offer, services, caller, name, body))


@router.get(OFFERS + "/{name}", openapi_extra=returns(ArmResource))
async def get_offer(name: str, services: ServicesDep, _caller: CallerDep) -> Response:
    return rendered(await call(offers.get_offer, services, name))


@router.delete(OFFERS + "/{name}")
async def delete_offer(name: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(offers.delete_offer, services, caller, name)
    return deleted()

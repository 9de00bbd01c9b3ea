"""The tenant-isolation matrix (issue 13): every principal × every management operation × a
resource inside and outside its scope is allowed exactly when Azure would allow it.

Principals: each built-in role the server publishes and one custom role, each assigned at a
subscription, a resource group and a workspace, and one principal with no assignment. Targets:
four workspaces, so each principal has resources inside and outside its scope:

    sub1/rg-a/ws-a    the scope every principal is assigned in (or above)
    sub1/rg-a/ws-a2   a sibling workspace: its name extends ws-a's
    sub1/rg-a2/ws-b   a sibling group: its name extends rg-a's
    sub2/rg-a/ws-a    another subscription holding the same group and workspace names

Operations are generated per kind of `KINDS` (a builder per kind; a kind without one fails) and
for the routes that are not a kind's (costs, activity log, pools, ...), and every route of the
app must be reached by some case or be in `EXCLUDED` with its reason: a route added later
without coverage fails this test.

The expected answer is computed here, not by the server's `authz`: the roles' actions are copied
from Azure's published definitions (AZURE-REFERENCE §1.1, plus the one documented deviation) and
checked against what the server publishes; the matcher follows §1.3 (case-insensitive, `*` any
run, `/*/` also a single `/`, actions minus notActions, union over grants whose scope contains
the target on whole path segments). Only a 403 `AuthorizationFailed` counts as denied; any other
answer but 401 or 5xx (which fail the test) means the call got past authorization (a 409 because
a workspace is not empty, a 404 for a name that is not there). Listings must hold exactly what
the principal may read of what the admin's listing holds.

Nothing the fixture needs is destroyed: DELETE goes to containers that are not empty (409 when
allowed) or to names that do not exist (204 when allowed; authorization is checked before
existence, as in ARM), creates of endpoints and marketplace subscriptions collide with the
existing ones (409) after every check.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

from maas.protocol.management import kinds as k
from maas.protocol.management.kinds import KINDS, Kind, by_type
from support.api import ML, MODEL, Api, World

RA = "/providers/Microsoft.Authorization/roleAssignments"
RD = "/providers/Microsoft.Authorization/roleDefinitions"
USERS = "/providers/Microsoft.MaaS/users"
SPS = "/providers/Microsoft.MaaS/servicePrincipals"
OFFERS = "/providers/Microsoft.MaaS/offers"
POOLS = "/providers/Microsoft.MaaS/pools"
KEYS = "/providers/Microsoft.MaaS/signingKeys"
VALUES = "/providers/Microsoft.Insights/eventtypes/management/values"
QUERY = "/providers/Microsoft.CostManagement/query"
ORDERING = "Microsoft.MarketplaceOrdering"
SUB1 = "00000000-0000-0000-0000-0000000000a1"
SUB2 = "00000000-0000-0000-0000-0000000000b2"
READER_GUID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

# -- Azure's roles, copied here (AZURE-REFERENCE §1.1), not read from the server ---------------
_MLS_WORKSPACE = tuple(f"{ML}/workspaces/*/{verb}" for verb in ("read", "action", "delete", "write"))
# The seed's list ("Permissions required to subscribe to model offerings"), which MaaS adds to
# Azure AI Developer: the one documented deviation (docs/security.md, Custom roles).
_SEED_MARKETPLACE = (
    f"{ORDERING}/agreements/offers/plans/read",
    f"{ORDERING}/agreements/offers/plans/sign/action",
    f"{ORDERING}/offerTypes/publishers/offers/plans/agreements/read",
    "Microsoft.Marketplace/offerTypes/publishers/offers/plans/agreements/read",
    "Microsoft.SaaS/register/action",
    "Microsoft.SaaS/resources/read",
    "Microsoft.SaaS/resources/write",
)


@dataclass(frozen=True)
class Role:
    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


AZURE_ROLES = (
    Role("Owner", ("*",)),
    Role(
        "Contributor",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
        ),
    ),
    Role("Reader", ("*/read",)),
    Role(
        "Azure AI Developer",
        (
            *_MLS_WORKSPACE,
            f"{ML}/locations/*/read",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            *_SEED_MARKETPLACE,
        ),
        (
            f"{ML}/workspaces/delete",
            f"{ML}/workspaces/write",
            f"{ML}/workspaces/listKeys/action",
            f"{ML}/workspaces/hubs/write",
            f"{ML}/workspaces/hubs/delete",
            f"{ML}/workspaces/featurestores/write",
            f"{ML}/workspaces/featurestores/delete",
        ),
    ),
    Role(
        "AzureML Data Scientist",
        _MLS_WORKSPACE,
        (
            f"{ML}/workspaces/delete",
            f"{ML}/workspaces/write",
            f"{ML}/workspaces/computes/*/write",
            f"{ML}/workspaces/computes/*/delete",
            f"{ML}/workspaces/computes/listKeys/action",
            f"{ML}/workspaces/listKeys/action",
            f"{ML}/workspaces/hubs/write",
            f"{ML}/workspaces/hubs/delete",
            f"{ML}/workspaces/featurestores/write",
            f"{ML}/workspaces/featurestores/delete",
        ),
    ),
    Role(
        "Azure AI Inference Deployment Operator",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Insights/AutoscaleSettings/write",
        ),
    ),
)
# The custom role: reads endpoints and marketplace subscriptions and lists endpoint keys, and
# nothing else (a wildcard narrowed by notActions, so both are exercised).
CUSTOM = Role(
    "Matrix endpoint key reader",
    (f"{ML}/workspaces/serverlessEndpoints/*", f"{ML}/workspaces/marketplaceModelSubscriptions/read"),
    (
        f"{ML}/workspaces/serverlessEndpoints/write",
        f"{ML}/workspaces/serverlessEndpoints/delete",
        f"{ML}/workspaces/serverlessEndpoints/regenerateKeys/action",
    ),
)


# -- the oracle: Azure's matching rules (AZURE-REFERENCE §1.3), written independently ----------
@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    """`/*/` matches `/…/` or a single `/`; any other `*` any run (with `/`); case-insensitive."""
    pieces = [".*".join(re.escape(bit) for bit in part.split("*")) for part in text.split("/*/")]
    return re.compile("(?:/.*)?/".join(pieces), re.IGNORECASE | re.DOTALL)


def grants(role: Role, action: str) -> bool:
    """Actions minus notActions (one permission block)."""
    hit = any(_pattern(a).fullmatch(action) for a in role.actions)
    return hit and not any(_pattern(n).fullmatch(action) for n in role.not_actions)


def segments(scope: str) -> list[str]:
    return [s.lower() for s in scope.split("/") if s]


def within(outer: str, inner: str) -> bool:
    """Whether `inner` is `outer` or below it, on whole path segments (`/` holds everything)."""
    out = segments(outer)
    return segments(inner)[: len(out)] == out


@dataclass(frozen=True)
class Need:
    """One check Azure makes for a call: `action` over `scope`."""

    action: str
    scope: str


PUBLIC: tuple[tuple[Need, ...], ...] = ((),)  # one empty conjunction: any signed-in caller


@dataclass
class Who:
    """A principal of the matrix: a role at a scope (`scope` None: no assignment)."""

    label: str
    role: Role | None
    scope: str | None
    token: str = ""
    principal_id: str = ""

    def may(self, action: str, scope: str) -> bool:
        if self.role is None or self.scope is None:
            return False
        return within(self.scope, scope) and grants(self.role, action)

    def satisfies(self, needs: tuple[tuple[Need, ...], ...]) -> bool:
        """`needs` is a disjunction of conjunctions."""
        return any(all(self.may(n.action, n.scope) for n in conj) for conj in needs)

    def holds_within(self, scope: str) -> bool:
        return self.scope is not None and within(scope, self.scope)


def need(action: str, scope: str) -> tuple[tuple[Need, ...], ...]:
    return ((Need(action, scope),),)


def all_of(*pairs: tuple[str, str]) -> tuple[tuple[Need, ...], ...]:
    return (tuple(Need(a, s) for a, s in pairs),)


# -- cases ---------------------------------------------------------------------------------------
Visible = Callable[[Who, dict[str, Any]], bool]


@dataclass
class Case:
    """One operation on one target. `needs` says who may make the call; a listing also says
    which of the admin's items each principal must see (`visible`); `filtered` listings answer
    200 to everyone with what they may see, the others 403 to whoever may not list."""

    label: str
    kind: Kind | None
    method: str
    path: str
    target: str  # the scope the call acts on, for the inside/outside count
    needs: tuple[tuple[Need, ...], ...]
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    visible: Visible | None = None
    filtered: bool = False
    bounded: bool = False  # what it answers (`value[].resourceId`) must lie within `target`


def readable(who: Who, item: dict[str, Any]) -> bool:
    """May `who` read this listed resource (its kind's read action on its id)?"""
    kind = by_type(item["type"])
    action = kind.read if kind is not None else f"{item['type']}/read"
    return who.may(action, item["id"])


@dataclass
class Place:
    """One workspace of the fixture and what the admin made in it."""

    label: str
    world: World
    endpoint: str
    operation: str = ""
    saas: str = ""
    agreement: str = ""
    assignments: dict[str, str] = field(default_factory=dict)  # scope -> an assignment's name


@dataclass
class Fixture:
    places: list[Place]
    probe_roles: dict[str, str]  # subscription path -> a custom role GUID assignable there
    sp_app_id: str
    dummy: str  # a principal outside the matrix, that the fixture's assignments name
    pool: str = "matrix-pool"

    @property
    def subs(self) -> list[World]:
        return list({p.world.sub_path: p.world for p in self.places}.values())

    @property
    def groups(self) -> list[Place]:
        return list({p.world.rg_path.lower(): p for p in self.places}.values())

    @property
    def scopes(self) -> list[str]:
        found = ["/"]
        for place in self.places:
            for scope in (place.world.sub_path, place.world.rg_path, place.world.ws_path):
                if scope not in found:
                    found.append(scope)
        return found


def _new() -> str:
    return str(uuid.uuid4())


CONNECTION = {
    "properties": {
        "category": "Serverless",
        "target": "https://maas.example/endpoints/eastus2/x",
        "credentials": {"key": "k" * 32},
    }
}
ENDPOINT = {"properties": {"modelSettings": {"modelId": MODEL}}, "sku": {"name": "Consumption"}}
ACCOUNT = {"properties": {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}}


def _ordering(world: World, plan: tuple[str, str, str], saas_rg: str) -> list[tuple[str, str]]:
    """What subscribing checks beyond the workspace's write (docs/security.md's seed table)."""
    publisher, offer, plan_id = plan
    agreement = f"{world.sub_path}/providers/{ORDERING}/agreements/{publisher}/offers/{offer}/plans/{plan_id}"
    terms = (
        f"{world.sub_path}/providers/{ORDERING}/offerTypes/virtualmachine/publishers/{publisher}/offers/"
        f"{offer}/plans/{plan_id}/agreements/current"
    )
    return [
        (f"{ORDERING}/agreements/offers/plans/read", agreement),
        (f"{ORDERING}/offerTypes/publishers/offers/plans/agreements/read", terms),
        ("Microsoft.Marketplace/offerTypes/publishers/offers/plans/agreements/read", world.sub_path),
        (f"{ORDERING}/agreements/offers/plans/sign/action", agreement),
        ("Microsoft.SaaS/register/action", world.sub_path),
        ("Microsoft.SaaS/resources/write", f"{saas_rg}/providers/Microsoft.SaaS/resources/any"),
    ]


def _template(world: World) -> dict[str, Any]:
    """A deployment creating one connection in the group's workspace."""
    return {
        "properties": {
            "mode": "Incremental",
            "template": {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [
                    {
                        "type": k.CONNECTION.arm_type,
                        "apiVersion": "2024-04-01",
                        "name": f"{world.ws}/tplconn",
                        **CONNECTION,
                    }
                ],
            },
        }
    }


# One builder per kind of the registry: the cases of that kind on the fixture.
def _subscriptions(fx: Fixture) -> Iterator[Case]:
    kind = k.SUBSCRIPTION
    yield Case(
        "subscriptions.list",
        kind,
        "GET",
        "/subscriptions",
        "/",
        PUBLIC,
        # As in Azure, an account is listed to whoever may read it or holds a role inside it.
        visible=lambda who, item: readable(who, item) or who.holds_within(item["id"]),
        filtered=True,
    )
    for w in fx.subs:
        s = w.sub_path
        yield Case("subscriptions.get", kind, "GET", s, s, need(kind.read, s))
        yield Case("subscriptions.put", kind, "PUT", s, s, need(kind.write, s), ACCOUNT)
        yield Case("subscriptions.delete(not empty)", kind, "DELETE", s, s, need(kind.delete, s))


def _groups(fx: Fixture) -> Iterator[Case]:
    kind = k.RESOURCE_GROUP
    for w in fx.subs:
        yield Case(
            "resourceGroups.list",
            kind,
            "GET",
            f"{w.sub_path}/resourceGroups",
            w.sub_path,
            PUBLIC,
            visible=readable,
            filtered=True,
        )
        new = f"{w.sub_path}/resourceGroups/rg-new"
        yield Case(
            "resourceGroups.put(create)",
            kind,
            "PUT",
            new,
            new,
            need(kind.write, new),
            {"location": "eastus2"},
        )
    for p in fx.groups:
        g = p.world.rg_path
        yield Case("resourceGroups.get", kind, "GET", g, g, need(kind.read, g))
        yield Case("resourceGroups.put", kind, "PUT", g, g, need(kind.write, g), {"location": "eastus2"})
        yield Case("resourceGroups.delete(not empty)", kind, "DELETE", g, g, need(kind.delete, g))


def _workspaces(fx: Fixture) -> Iterator[Case]:
    kind = k.WORKSPACE
    for w in fx.subs:
        path = f"{w.sub_path}/providers/{ML}/workspaces"
        yield Case(
            "workspaces.list(account)", kind, "GET", path, w.sub_path, PUBLIC, visible=readable, filtered=True
        )
    for p in fx.groups:
        g = p.world.rg_path
        path = f"{g}/providers/{ML}/workspaces"
        yield Case("workspaces.list(group)", kind, "GET", path, g, PUBLIC, visible=readable, filtered=True)
        new = f"{path}/ws-new"
        yield Case(
            "workspaces.put(create)", kind, "PUT", new, new, need(kind.write, new), {"location": "eastus2"}
        )
    for p in fx.places:
        ws = p.world.ws_path
        yield Case("workspaces.get", kind, "GET", ws, ws, need(kind.read, ws))
        yield Case("workspaces.put", kind, "PUT", ws, ws, need(kind.write, ws), {"location": "eastus2"})
        yield Case("workspaces.delete(not empty)", kind, "DELETE", ws, ws, need(kind.delete, ws))


def _children(fx: Fixture, kind: Kind, existing: Callable[[Place], str]) -> Iterator[tuple[Place, str, str]]:
    """The list, get and delete every workspace child has; yields (place, collection, item)."""
    for p in fx.places:
        ws = p.world.ws_path
        collection = f"{ws}/{kind.collection}"
        item = f"{collection}/{existing(p)}"
        yield p, collection, item


def _workspace_child_cases(kind: Kind, p: Place, collection: str, item: str) -> Iterator[Case]:
    ws = p.world.ws_path
    name = kind.collection
    yield Case(f"{name}.list", kind, "GET", collection, ws, need(kind.read, ws), visible=readable)
    yield Case(f"{name}.get", kind, "GET", item, item, need(kind.read, item))
    gone = f"{collection}/matrix-gone"
    yield Case(f"{name}.delete(absent)", kind, "DELETE", gone, gone, need(kind.delete, gone))


def _marketplace(fx: Fixture) -> Iterator[Case]:
    kind = k.MARKETPLACE_SUBSCRIPTION
    for p, collection, item in _children(fx, kind, lambda p: "Meta-Llama-3-8B-Instruct"):
        yield from _workspace_child_cases(kind, p, collection, item)
        body = {"properties": {"modelId": MODEL}}
        yield Case(f"{kind.collection}.put", kind, "PUT", item, item, need(kind.write, item), body)
        # A second subscription to the same offer: every check of subscribing, then 409.
        new = f"{collection}/second"
        publisher, offer, plan = p.agreement.split("/agreements/")[1].split("/")[::2]
        checks = [(kind.write, new), *_ordering(p.world, (publisher, offer, plan), p.world.rg_path)]
        yield Case(f"{kind.collection}.put(create)", kind, "PUT", new, new, all_of(*checks), body)


def _endpoints(fx: Fixture) -> Iterator[Case]:
    kind = k.SERVERLESS_ENDPOINT
    for p, collection, item in _children(fx, kind, lambda p: p.endpoint):
        yield from _workspace_child_cases(kind, p, collection, item)
        yield Case(f"{kind.collection}.put", kind, "PUT", item, item, need(kind.write, item), ENDPOINT)
        new = f"{collection}/{p.endpoint}-new"  # a second endpoint of the model: 409 once allowed
        yield Case(f"{kind.collection}.put(create)", kind, "PUT", new, new, need(kind.write, new), ENDPOINT)
        for verb in ("listKeys", "regenerateKeys"):
            keys = {"keyType": "Secondary"} if verb == "regenerateKeys" else None
            yield Case(
                f"{kind.collection}.{verb}",
                kind,
                "POST",
                f"{item}/{verb}",
                item,
                need(f"{kind.action}/{verb}/action", item),
                keys,
            )
        quota = f"{item}/providers/Microsoft.MaaS/quotas/default"
        yield Case("quotas.get", kind, "GET", quota, item, need(kind.read, item))
        # Quotas are the operator's: `Microsoft.MaaS/quotas/write` at the root scope.
        body = {"properties": {"tokensPerMinute": 1000, "reason": "matrix"}}
        yield Case("quotas.put", kind, "PUT", quota, item, need("Microsoft.MaaS/quotas/write", "/"), body)
        # An operation's status and result: for whoever may read its resource (a MaaS choice).
        location = f"{p.world.sub_path}/providers/{ML}/locations/{p.world.location}"
        for word in ("mfeOperationsStatus", "mfeOperationResults"):
            path = f"{location}/{word}/{p.operation}"
            yield Case(f"operations.{word}", kind, "GET", path, item, need(kind.read, item))


def _connections(fx: Fixture) -> Iterator[Case]:
    kind = k.CONNECTION
    for p, collection, item in _children(fx, kind, lambda p: "conn"):
        yield from _workspace_child_cases(kind, p, collection, item)
        yield Case(f"{kind.collection}.put", kind, "PUT", item, item, need(kind.write, item), CONNECTION)
        action = f"{kind.action}/listsecrets/action"
        yield Case(
            f"{kind.collection}.listsecrets", kind, "POST", f"{item}/listsecrets", item, need(action, item)
        )


def _saas(fx: Fixture) -> Iterator[Case]:
    kind = k.SAAS
    for p in fx.groups:
        g = p.world.rg_path
        collection = f"{g}/providers/{kind.arm_type}"
        yield Case("saas.list", kind, "GET", collection, g, need(kind.read, g), visible=readable)
        item = f"{collection}/{p.saas}"
        yield Case("saas.get", kind, "GET", item, item, need(kind.read, item))
        gone = f"{collection}/matrix-gone"
        yield Case("saas.delete(absent)", kind, "DELETE", gone, gone, need(kind.delete, gone))


def _agreements(fx: Fixture) -> Iterator[Case]:
    kind = k.AGREEMENT
    seen: set[str] = set()
    for p in fx.places:
        s = p.world.sub_path
        if s not in seen:
            seen.add(s)
            path = f"{s}/providers/{kind.arm_type}"
            yield Case("agreements.list", kind, "GET", path, s, need(kind.read, s), visible=readable)
        if p.agreement not in seen:
            seen.add(p.agreement)
            yield Case("agreements.get", kind, "GET", p.agreement, p.agreement, need(kind.read, p.agreement))


def _deployments(fx: Fixture) -> Iterator[Case]:
    kind = k.DEPLOYMENT
    for p in fx.groups:
        w, g = p.world, p.world.rg_path
        collection = f"{g}/providers/{kind.arm_type}"
        yield Case("deployments.list", kind, "GET", collection, g, need(kind.read, g), visible=readable)
        item = f"{collection}/dep"
        yield Case("deployments.get", kind, "GET", item, item, need(kind.read, item))
        gone = f"{collection}/matrix-gone"
        yield Case("deployments.delete(absent)", kind, "DELETE", gone, gone, need(kind.delete, gone))
        # The template's resources are checked as the caller too.
        made = f"{w.ws_path}/connections/tplconn"
        new = f"{collection}/matrix-dep"
        checks = all_of((kind.write, new), (k.CONNECTION.write, made))
        yield Case("deployments.put", kind, "PUT", new, new, checks, _template(w))
        checks = all_of((f"{kind.action}/validate/action", new), (k.CONNECTION.write, made))
        yield Case("deployments.validate", kind, "POST", f"{new}/validate", new, checks, _template(w))


def _registries(fx: Fixture) -> Iterator[Case]:
    kind = k.REGISTRY  # the catalog is public to read; writing it is the operator's
    yield Case("registries.list", kind, "GET", "/registries", "/", PUBLIC)
    yield Case("registries.get", kind, "GET", "/registries/azureml", "/", PUBLIC)
    new = "/registries/matrix-reg"
    yield Case("registries.put", kind, "PUT", new, new, need(kind.write, new), {"properties": {}})


def _models(fx: Fixture) -> Iterator[Case]:
    kind = k.MODEL
    yield Case("models.list", kind, "GET", "/registries/azureml/models", "/", PUBLIC)
    yield Case("models.get", kind, "GET", "/registries/azureml/models/Phi-3-mini", "/", PUBLIC)


def _versions(fx: Fixture) -> Iterator[Case]:
    kind = k.MODEL_VERSION
    model = "/registries/azureml/models/Phi-3-mini/versions"
    yield Case("versions.list", kind, "GET", model, "/", PUBLIC)
    yield Case("versions.get", kind, "GET", f"{model}/1", "/", PUBLIC)
    new = "/registries/azureml/models/matrix-model/versions/1"
    body = {"properties": {"artifact": {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}}}
    yield Case("versions.put", kind, "PUT", new, new, need(kind.write, new), body)
    gone = f"{model}/99"
    yield Case("versions.delete(absent)", kind, "DELETE", gone, gone, need(kind.delete, gone))


def _offers(fx: Fixture) -> Iterator[Case]:
    kind = k.OFFER
    yield Case("offers.list", kind, "GET", OFFERS, "/", PUBLIC)
    yield Case("offers.get", kind, "GET", f"{OFFERS}/phi-3-mini", "/", PUBLIC)
    new = f"{OFFERS}/matrix-offer"
    body = {
        "properties": {
            "modelId": "azureml://registries/azureml/models/Phi-3-mini",
            "publisherId": "m",
            "kind": "FirstParty",
            "meters": [],
        }
    }
    yield Case("offers.put", kind, "PUT", new, new, need(kind.write, new), body)
    gone = f"{OFFERS}/matrix-gone"
    yield Case("offers.delete(absent)", kind, "DELETE", gone, gone, need(kind.delete, gone))


def _principals(fx: Fixture) -> Iterator[Case]:
    kind = k.PRINCIPAL  # MaaS's own: made by operators (its actions at the root scope)
    path = "/providers/Microsoft.MaaS/principals"
    yield Case("principals.put", kind, "PUT", f"{path}/matrix-new", "/", need(kind.write, "/"), {})
    yield Case("principals.get", kind, "GET", f"{path}/admin", "/", need(kind.read, "/"))


def _role_assignments(fx: Fixture) -> Iterator[Case]:
    kind = k.ROLE_ASSIGNMENT
    body = {"properties": {"roleDefinitionId": f"{RD}/{READER_GUID}", "principalId": "{dummy}"}}
    for scope in fx.scopes:
        base = "" if scope == "/" else scope
        existing = next(p.assignments[scope] for p in fx.places if scope in p.assignments)
        yield Case(
            "roleAssignments.list",
            kind,
            "GET",
            f"{base}{RA}",
            scope,
            need(kind.read, scope),
            visible=lambda who, item: who.may(k.ROLE_ASSIGNMENT.read, item["properties"]["scope"]),
        )
        yield Case(
            "roleAssignments.get", kind, "GET", f"{base}{RA}/{existing}", scope, need(kind.read, scope)
        )
        yield Case(
            "roleAssignments.put", kind, "PUT", f"{base}{RA}/{_new()}", scope, need(kind.write, scope), body
        )
        yield Case(
            "roleAssignments.delete(absent)",
            kind,
            "DELETE",
            f"{base}{RA}/{_new()}",
            scope,
            need(kind.delete, scope),
        )


def probe_role(sub_path: str) -> dict[str, Any]:
    """The custom role the fixture defines in each subscription (and assigns, so it is in use)."""
    return {
        "properties": {
            "roleName": f"Matrix probe {sub_path.rsplit('/', 1)[1]}",
            "permissions": [{"actions": [f"{ML}/workspaces/*/read"]}],
            "assignableScopes": [sub_path],
        }
    }


def _role_definitions(fx: Fixture) -> Iterator[Case]:
    kind = k.ROLE_DEFINITION
    for scope in fx.scopes:
        base = "" if scope == "/" else scope

        def custom_visible(who: Who, item: dict[str, Any], scope: str = scope) -> bool:
            return item["properties"]["type"] == "BuiltInRole" or who.may(k.ROLE_DEFINITION.read, scope)

        yield Case(
            "roleDefinitions.list",
            kind,
            "GET",
            f"{base}{RD}",
            scope,
            PUBLIC,
            visible=custom_visible,
            filtered=True,
        )
        # Built-in roles are shown to every signed-in caller.
        yield Case("roleDefinitions.get(built-in)", kind, "GET", f"{base}{RD}/{READER_GUID}", scope, PUBLIC)
        # The probe role of the scope's subscription (of the first one, for the root scope).
        sub = "/" + "/".join(scope.strip("/").split("/")[:2]) if scope != "/" else fx.places[0].world.sub_path
        probe = f"{base}{RD}/{fx.probe_roles[sub]}"
        # By its tenant-form id a custom role is shown where any of its assignable scopes is readable.
        yield Case(
            "roleDefinitions.get(custom)",
            kind,
            "GET",
            probe,
            scope,
            need(kind.read, sub if scope == "/" else scope),
        )
        # Writing a role needs the write at the request's scope and at each assignable scope, old
        # and new: a group's Owner may not rewrite (or widen) a subscription's role.
        checks = all_of((kind.write, scope), (kind.write, sub))
        yield Case("roleDefinitions.put(existing)", kind, "PUT", probe, scope, checks, probe_role(sub))
        # Deleting it likewise; it is in use, so 409 once allowed.
        checks = all_of((kind.delete, scope), (kind.delete, sub))
        yield Case("roleDefinitions.delete(in use)", kind, "DELETE", probe, scope, checks)
        assignable = scope if scope != "/" else sub
        body = {
            "properties": {
                "roleName": "{unique}",
                "permissions": [{"actions": [f"{ML}/workspaces/*/read"]}],
                "assignableScopes": [assignable],
            }
        }
        checks = all_of((kind.write, scope), (kind.write, assignable))
        yield Case("roleDefinitions.put(create)", kind, "PUT", f"{base}{RD}/{{guid}}", scope, checks, body)
        # A role assignable wider than the request's scope needs the write there too.
        wider = {"properties": {**body["properties"], "assignableScopes": [assignable, sub]}}
        checks = all_of((kind.write, scope), (kind.write, assignable), (kind.write, sub))
        yield Case(
            "roleDefinitions.put(create, wider)", kind, "PUT", f"{base}{RD}/{{guid}}", scope, checks, wider
        )
        gone = f"{base}{RD}/{_new()}"
        yield Case("roleDefinitions.delete(absent)", kind, "DELETE", gone, scope, need(kind.delete, scope))


def _users(fx: Fixture) -> Iterator[Case]:
    kind = k.USER  # the directory is the operator's: its actions at the root scope
    yield Case("users.list", kind, "GET", USERS, "/", need(kind.read, "/"))
    yield Case("users.get", kind, "GET", f"{USERS}/admin", "/", need(kind.read, "/"))
    body = {"properties": {"displayName": "M", "passwordProfile": {"password": "correct horse 1"}}}
    yield Case("users.put", kind, "PUT", f"{USERS}/matrix@contoso.example", "/", need(kind.write, "/"), body)
    yield Case(
        "users.delete(absent)", kind, "DELETE", f"{USERS}/gone@contoso.example", "/", need(kind.delete, "/")
    )


def _service_principals(fx: Fixture) -> Iterator[Case]:
    kind = k.SERVICE_PRINCIPAL
    sp = f"{SPS}/{fx.sp_app_id}"
    yield Case("servicePrincipals.list", kind, "GET", SPS, "/", need(kind.read, "/"))
    yield Case("servicePrincipals.get", kind, "GET", sp, "/", need(kind.read, "/"))
    yield Case(
        "servicePrincipals.put",
        kind,
        "PUT",
        f"{SPS}/{_new()}",
        "/",
        need(kind.write, "/"),
        {"properties": {"displayName": "m"}},
    )
    yield Case(
        "servicePrincipals.delete(absent)", kind, "DELETE", f"{SPS}/{_new()}", "/", need(kind.delete, "/")
    )
    action = f"{kind.action}/addPassword/action"
    yield Case("servicePrincipals.addPassword", kind, "POST", f"{sp}/addPassword", "/", need(action, "/"), {})


QR = "/providers/Microsoft.MaaS/quotaRequests"
ASK = {"properties": {"limits": {"tokensPerMinute": 900_000_000}, "reason": "matrix"}}


def _quota_requests(fx: Fixture) -> Iterator[Case]:
    """Quota increase requests: filed, read and cancelled under the endpoint's actions, decided by
    the platform's operators at `/`, listed at every scope. The fixture filed `matrix-req` on
    each endpoint (pending), so a create is a 409 once allowed; decisions go to a name that is
    not there (404 once allowed), so nothing the fixture needs changes."""
    kind = k.QUOTA_REQUEST
    yield Case("quotaRequests.list(root)", kind, "GET", QR, "/", PUBLIC, visible=readable, filtered=True)
    for w in fx.subs:
        s = w.sub_path
        yield Case(
            "quotaRequests.list(account)", kind, "GET", s + QR, s, PUBLIC, visible=readable, filtered=True
        )
    for p in fx.groups:
        g = p.world.rg_path
        yield Case(
            "quotaRequests.list(group)", kind, "GET", g + QR, g, PUBLIC, visible=readable, filtered=True
        )
    for p in fx.places:
        ws, ep = p.world.ws_path, p.world.endpoint(p.endpoint)
        yield Case(
            "quotaRequests.list(workspace)", kind, "GET", ws + QR, ws, PUBLIC, visible=readable, filtered=True
        )
        yield Case("quotaRequests.list", kind, "GET", ep + QR, ep, need(kind.read, ep), visible=readable)
        item = f"{ep}{QR}/matrix-req"
        yield Case("quotaRequests.get", kind, "GET", item, item, need(kind.read, item))
        yield Case("quotaRequests.put", kind, "PUT", item, item, need(kind.write, item), ASK)
        new = f"{ep}{QR}/matrix-new"
        yield Case("quotaRequests.put(create)", kind, "PUT", new, new, need(kind.write, new), ASK)
        gone = f"{ep}{QR}/matrix-gone"
        cancel = f"{kind.action}/cancel/action"
        yield Case("quotaRequests.cancel(absent)", kind, "POST", f"{gone}/cancel", gone, need(cancel, gone))
        for verb in ("approve", "deny"):
            action = f"Microsoft.MaaS/quotaRequests/{verb}/action"
            yield Case(
                f"quotaRequests.{verb}(absent)", kind, "POST", f"{gone}/{verb}", gone, need(action, "/")
            )


BUILDERS: dict[str, Callable[[Fixture], Iterator[Case]]] = {
    k.SUBSCRIPTION.arm_type: _subscriptions,
    k.RESOURCE_GROUP.arm_type: _groups,
    k.WORKSPACE.arm_type: _workspaces,
    k.MARKETPLACE_SUBSCRIPTION.arm_type: _marketplace,
    k.SERVERLESS_ENDPOINT.arm_type: _endpoints,
    k.CONNECTION.arm_type: _connections,
    k.SAAS.arm_type: _saas,
    k.AGREEMENT.arm_type: _agreements,
    k.DEPLOYMENT.arm_type: _deployments,
    k.REGISTRY.arm_type: _registries,
    k.MODEL.arm_type: _models,
    k.MODEL_VERSION.arm_type: _versions,
    k.OFFER.arm_type: _offers,
    k.PRINCIPAL.arm_type: _principals,
    k.ROLE_ASSIGNMENT.arm_type: _role_assignments,
    k.ROLE_DEFINITION.arm_type: _role_definitions,
    k.USER.arm_type: _users,
    k.SERVICE_PRINCIPAL.arm_type: _service_principals,
    k.QUOTA_REQUEST.arm_type: _quota_requests,
}


def _beyond_kinds(fx: Fixture) -> Iterator[Case]:
    """The management routes that are not one kind's CRUD."""
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cost = {"type": "Usage", "timeframe": "MonthToDate", "dataset": {}}
    for w in fx.subs:
        s = w.sub_path
        yield Case(
            "resources.list(account)",
            None,
            "GET",
            f"{s}/resources",
            s,
            PUBLIC,
            visible=readable,
            filtered=True,
        )
        yield Case(
            "costs.query(account)",
            None,
            "POST",
            s + QUERY,
            s,
            need("Microsoft.CostManagement/query/read", s),
            cost,
        )
        yield Case(
            "activity.list(account)",
            None,
            "GET",
            s + VALUES,
            s,
            need("Microsoft.Insights/eventtypes/values/read", s),
            params={"$filter": f"eventTimestamp ge '{since}'", "$top": "1000"},
            bounded=True,
        )
    for p in fx.groups:
        g = p.world.rg_path
        yield Case(
            "resources.list(group)", None, "GET", f"{g}/resources", g, PUBLIC, visible=readable, filtered=True
        )
        yield Case(
            "costs.query(group)",
            None,
            "POST",
            g + QUERY,
            g,
            need("Microsoft.CostManagement/query/read", g),
            cost,
        )
        saas = f"{g}/providers/Microsoft.SaaS/resources/{p.saas}"
        yield Case(
            "costs.query(saas)",
            None,
            "POST",
            saas + QUERY,
            saas,
            need("Microsoft.CostManagement/query/read", saas),
            cost,
        )
        text = f"eventTimestamp ge '{since}' and resourceGroupName eq '{p.world.rg}'"
        yield Case(
            "activity.list(group)",
            None,
            "GET",
            p.world.sub_path + VALUES,
            g,
            need("Microsoft.Insights/eventtypes/values/read", g),
            params={"$filter": text, "$top": "1000"},
            bounded=True,
        )
    for p in fx.places:
        ws, ep = p.world.ws_path, p.world.endpoint(p.endpoint)
        yield Case(
            "costs.query(workspace)",
            None,
            "POST",
            ws + QUERY,
            ws,
            need("Microsoft.CostManagement/query/read", ws),
            cost,
        )
        yield Case(
            "costs.query(endpoint)",
            None,
            "POST",
            ep + QUERY,
            ep,
            need("Microsoft.CostManagement/query/read", ep),
            cost,
        )
    yield Case("tenants.list", None, "GET", "/tenants", "/", PUBLIC)
    # The operator's routes: pools and signing keys, at the root scope.
    pool = f"{POOLS}/{fx.pool}"
    yield Case("pools.list", None, "GET", POOLS, "/", need("Microsoft.MaaS/pools/read", "/"))
    yield Case("pools.get", None, "GET", pool, pool, need("Microsoft.MaaS/pools/read", pool))
    yield Case(
        "pools.restart",
        None,
        "POST",
        f"{pool}/restart",
        pool,
        need("Microsoft.MaaS/pools/restart/action", pool),
    )
    yield Case("signingKeys.list", None, "GET", KEYS, "/", need("Microsoft.MaaS/signingKeys/read", "/"))
    yield Case(
        "signingKeys.rotate",
        None,
        "POST",
        f"{KEYS}/rotate",
        "/",
        need("Microsoft.MaaS/signingKeys/rotate/action", "/"),
    )


def all_cases(fx: Fixture) -> list[Case]:
    cases = [case for kind in KINDS for case in BUILDERS[kind.arm_type](fx)]
    return cases + list(_beyond_kinds(fx))


# Routes the matrix does not call, each with why. Anything else the app serves must be reached.
EXCLUDED: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe, no token, no data",
    (
        "GET",
        "/metrics",
    ): "Prometheus text, no token (pool counters only; tests/integration/test_pool_operator.py)",
    ("GET", "/docs"): "Swagger UI page, static",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI page, static",
    ("GET", "/openapi.json"): "the API's description, public",
    ("GET", "/openapi/inference.json"): "the data plane's description, public",
    ("GET", "/discovery"): "the workspace discovery document, public as Azure's is",
    ("GET", "/{tenant}/v2.0/.well-known/openid-configuration"): "OpenID metadata, public (test_tokens.py)",
    ("GET", "/{tenant}/discovery/v2.0/keys"): "JWKS public keys, public (test_tokens.py)",
    (
        "POST",
        "/{tenant}/oauth2/v2.0/token",
    ): "the token endpoint: signs callers in, is not called with a token (test_tokens.py)",
    ("GET", "/{tenant}/oauth2/v2.0/authorize"): "the sign-in page (test_signin.py)",
    ("POST", "/{tenant}/oauth2/v2.0/authorize"): "the sign-in form (test_signin.py)",
    ("GET", "/{tenant}/oauth2/v2.0/logout"): "sign-out of the sign-in page's session (test_signin.py)",
    ("POST", "/{tenant}/oauth2/v2.0/logout"): "sign-out of the sign-in page's session (test_signin.py)",
    ("GET", "/"): "a browser is sent to Studio; any other client gets the 404 it always got",
}
# Studio's pages take no token: a cookie session names the principal, and each page calls the
# services as that caller, so the services' checks (tested here through the API) are the same
# ones; the pages themselves are tested in tests/integration/test_studio_*.py.
EXCLUDED_PREFIXES = {"/studio": "Studio's pages (test_studio_*.py)"}


def flat_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The app's routes in the order it tries them, included routers opened up."""
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def route_of(app: FastAPI, method: str, path: str) -> tuple[str, str] | None:
    """The route the app picks for a request (the first full match, as Starlette does)."""
    for route in flat_routes(app.routes):
        if isinstance(route, APIRoute):
            scope = {
                "type": "http",
                "path": path,
                "method": method,
                "root_path": "",
                "query_string": b"",
                "headers": [],
            }
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return method, route.path
    return None


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside."""
    found = set()
    for route in flat_routes(app.routes):
        methods = getattr(route, "methods", None) or set()
        for method in methods - {"HEAD"}:
            found.add((method, getattr(route, "path", "")))
    return found


# -- the fixture world -------------------------------------------------------------------------
def build(api: Api) -> Fixture:
    api.catalog()
    places = [
        Place("in", World(SUB1, "rg-a", "ws-a"), "ep-in"),
        Place("sibling-ws", World(SUB1, "rg-a", "ws-a2"), "ep-sibws"),
        Place("sibling-rg", World(SUB1, "rg-a2", "ws-b"), "ep-sibrg"),
        Place("other-sub", World(SUB2, "rg-a", "ws-a"), "ep-other"),
    ]
    dummy_id, _ = api.principal("matrix-dummy")
    for place in places:
        w = place.world
        api.ok(api.put(w.sub_path, ACCOUNT))
        api.ok(api.put(w.rg_path, {"location": w.location}))
        api.ok(api.put(w.ws_path, {"location": w.location}))
        subscribed = api.ok(api.subscribe(w), 201)
        saas_id = subscribed["properties"]["saasResourceId"]
        place.saas = saas_id.rsplit("/", 1)[1]
        created = api.create_endpoint(w, place.endpoint)
        assert created.status_code == 201, created.text
        place.operation = created.headers["Azure-AsyncOperation"].split("?")[0].rsplit("/", 1)[1]
        api.ok(api.put(f"{w.ws_path}/connections/conn", CONNECTION), 201)
        empty = {"properties": {"mode": "Incremental", "template": {"resources": []}}}
        api.ok(api.put(f"{w.rg_path}/providers/Microsoft.Resources/deployments/dep", empty))
    # Wait for every endpoint to finish creating.
    for place in places:
        w = place.world
        url = f"{w.sub_path}/providers/{ML}/locations/{w.location}/mfeOperationsStatus/{place.operation}"
        deadline = time.monotonic() + 20
        while api.ok(api.get(url), 200)["status"] == "InProgress" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert api.ok(api.get(url), 200)["status"] == "Succeeded"
        place.agreement = api.ok(api.get(f"{w.sub_path}/providers/{ORDERING}/agreements"), 200)["value"][0][
            "id"
        ]
        api.ok(api.put(f"{w.endpoint(place.endpoint)}{QR}/matrix-req", ASK), 201)  # pending, to read
    # An assignment at every scope (to a principal outside the matrix), to GET.
    for place in places:
        w = place.world
        for scope in (w.sub_path, w.rg_path, w.ws_path):
            if all(scope not in p.assignments for p in places):
                name = _new()
                role = f"{RD}/{READER_GUID}"
                api.ok(
                    api.put(
                        f"{scope}{RA}/{name}",
                        {"properties": {"roleDefinitionId": role, "principalId": dummy_id}},
                    ),
                    201,
                )
                place.assignments[scope] = name
    admin_assignment = api.ok(api.get(RA), 200)["value"][0]["name"]
    places[0].assignments["/"] = admin_assignment
    probes = {}
    for w in {p.world.sub_path: p.world for p in places}.values():
        guid = _new()
        api.ok(api.put(f"{w.sub_path}{RD}/{guid}", probe_role(w.sub_path)), 201)
        api.ok(api.assign(w.sub_path, dummy_id, guid), 201)  # in use: it cannot be deleted
        probes[w.sub_path] = guid
    app_id = _new()
    api.ok(api.put(f"{SPS}/{app_id}", {"properties": {"displayName": "matrix sp"}}), 201)
    return Fixture(places, probes, app_id, dummy_id)


# On PostgreSQL the same cases run for fewer principals: authorization is decided in Python
# alike on both stores; what the store changes is which rows a query finds (lookups, prefixes,
# listings), and these principals reach every operation both ways.
ON_POSTGRES = (
    "Owner @ group",
    "Contributor @ subscription",
    "Reader @ workspace",
    "Azure AI Developer @ subscription",
    "Matrix endpoint key reader @ workspace",
    "Reader @ root",
    "no assignment",
)


def principals(api: Api, fx: Fixture, only: Iterable[str] | None = None) -> list[Who]:
    """Each role at the subscription, the group and the workspace of `in`; Owner and Reader at
    the root scope (the operator's routes need someone allowed); one with no assignment."""
    home = fx.places[0].world
    custom_guid = _new()
    body = {
        "properties": {
            "roleName": CUSTOM.name,
            "permissions": [{"actions": list(CUSTOM.actions), "notActions": list(CUSTOM.not_actions)}],
            "assignableScopes": [home.sub_path],
        }
    }
    api.ok(api.put(f"{home.sub_path}{RD}/{custom_guid}", body), 201)
    published = {r["properties"]["roleName"]: r["name"] for r in api.ok(api.get(RD), 200)["value"]}
    wanted: list[tuple[str, Role | None, str | None]] = []
    for role in (*AZURE_ROLES, CUSTOM):
        for where, scope in (
            ("subscription", home.sub_path),
            ("group", home.rg_path),
            ("workspace", home.ws_path),
        ):
            wanted.append((f"{role.name} @ {where}", role, scope))
    wanted += [("Owner @ root", AZURE_ROLES[0], "/"), ("Reader @ root", AZURE_ROLES[2], "/")]
    wanted.append(("no assignment", None, None))
    found: list[Who] = []
    for label, held, at in wanted:
        if only is not None and label not in only:
            continue
        principal_id, token = api.principal(re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
        if held is not None and at is not None:
            guid = custom_guid if held is CUSTOM else published[held.name]
            api.ok(api.assign("" if at == "/" else at, principal_id, guid), 201)
        found.append(Who(label, held, at, token, principal_id))
    return found


# -- running ---------------------------------------------------------------------------------------
@dataclass
class Client:
    """Requests made inside the app's own event loop (no thread hop per request, as the
    TestClient makes): the matrix is thousands of them."""

    http: httpx.AsyncClient

    async def request(
        self, token: str, method: str, path: str, body: Any = None, **params: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        query = {"api-version": "2024-01-01-preview", **params}
        return await self.http.request(method, path, json=body, headers=headers, params=query)

    async def items(self, token: str, case: Case) -> tuple[int, list[dict[str, Any]], httpx.Response]:
        response = await self.request(token, case.method, case.path, **{"$top": "1000", **case.params})
        if response.status_code != 200:
            return response.status_code, [], response
        body = response.json()
        assert not body.get("nextLink"), f"{case.label}: one page expected"
        return 200, list(body["value"]), response


def _concrete(case: Case, dummy: str) -> tuple[str, Any]:
    """Fresh names for a case's create (a role's name and GUID are unique per call)."""
    path = case.path.replace("{guid}", _new())
    body = case.body
    if isinstance(body, dict) and "properties" in body:
        props = dict(body["properties"])
        if props.get("roleName") == "{unique}":
            props["roleName"] = f"Matrix role {_new()}"
        if props.get("principalId") == "{dummy}":
            props["principalId"] = dummy
        body = {**body, "properties": props}
    return path, body


@dataclass
class Tally:
    cases: int = 0
    inside: int = 0
    outside: int = 0
    allowed: int = 0
    denied: int = 0
    leaks: list[str] = field(default_factory=list)
    wrong_denials: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _denied(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    try:
        return bool(response.json()["error"]["code"] == "AuthorizationFailed")
    except (ValueError, KeyError, TypeError):
        return False


@dataclass
class Runner:
    http: Client
    admin: str  # the admin's token
    fx: Fixture
    tally: Tally = field(default_factory=Tally)
    # The admin's listings, kept until something is created (a 201): listings compare ids only.
    universes: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    async def universe(self, case: Case, where: str) -> list[dict[str, Any]] | None:
        key = (case.path, repr(sorted(case.params.items())))
        if key not in self.universes:
            status, items, response = await self.http.items(self.admin, case)
            if status != 200:
                self.tally.errors.append(
                    f"{where}: the admin's listing answered {status} {response.text[:200]}"
                )
                return None
            self.universes[key] = items
        return self.universes[key]

    async def run(self, who: Who, case: Case) -> None:
        tally = self.tally
        tally.cases += 1
        if who.scope is not None and (within(who.scope, case.target) or within(case.target, who.scope)):
            tally.inside += 1
        else:
            tally.outside += 1
        where = f"{who.label} | {case.label} {case.method} {case.path}"
        if case.visible is not None:
            await self.listing(who, case, where)
        else:
            await self.call(who, case, where)

    async def listing(self, who: Who, case: Case, where: str) -> None:
        assert case.visible is not None
        tally, expected = self.tally, who.satisfies(case.needs)
        universe = await self.universe(case, where)
        status, items, response = await self.http.items(who.token, case)
        if universe is None:
            return
        if status not in (200, 403) or (status == 403 and not _denied(response)):
            tally.errors.append(f"{where}: {status} {response.text[:300]}")
            return
        should_see = {i["id"].lower() for i in universe if case.visible(who, i)}
        if status == 403:
            tally.denied += 1
            # A filtered listing may refuse whoever may see nothing in it (as ARM does).
            if expected and (not case.filtered or should_see):
                tally.wrong_denials.append(f"{where}: 403, expected {sorted(should_see)}")
            return
        tally.allowed += 1
        if not expected:
            tally.leaks.append(f"{where}: listed, expected 403")
            return
        seen = {i["id"].lower() for i in items}
        if seen - should_see:
            tally.leaks.append(f"{where}: lists {sorted(seen - should_see)}")
        if should_see - seen:
            tally.wrong_denials.append(f"{where}: hides {sorted(should_see - seen)}")

    async def call(self, who: Who, case: Case, where: str) -> None:
        tally, expected = self.tally, who.satisfies(case.needs)
        path, body = _concrete(case, self.fx.dummy)
        response = await self.http.request(who.token, case.method, path, body, **case.params)
        status = response.status_code
        if status == 201:
            self.universes.clear()
        if status == 401 or status >= 500 or (status == 403 and not _denied(response)):
            tally.errors.append(f"{where}: {status} {response.text[:300]}")
        elif _denied(response):
            tally.denied += 1
            if expected:
                tally.wrong_denials.append(f"{where}: 403 {response.json()['error']['message'][:200]}")
        else:
            tally.allowed += 1
            if not expected:
                tally.leaks.append(f"{where}: {status} {response.text[:200]}")
            elif case.bounded and status == 200:
                # The newest events (a page): none may come from outside the scope read.
                outside = {
                    e["resourceId"]
                    for e in response.json()["value"]
                    if not within(case.target, e["resourceId"])
                }
                if outside:
                    tally.leaks.append(f"{where}: answers events of {sorted(outside)[:5]}")


def _check_published_roles(admin: Api) -> None:
    """The server's built-in roles are Azure's (as copied above), and every one is in the matrix."""
    published = {
        r["properties"]["roleName"]: r["properties"]["permissions"]
        for r in admin.ok(admin.get(RD), 200)["value"]
        if r["properties"]["type"] == "BuiltInRole"
    }
    assert set(published) == {r.name for r in AZURE_ROLES}, "a built-in role is not in the matrix"
    for role in AZURE_ROLES:
        [block] = published[role.name]
        assert (tuple(block["actions"]), tuple(block["notActions"])) == (role.actions, role.not_actions), (
            role.name
        )


def test_the_oracle_matches_azures_documented_examples() -> None:
    """Spot checks of the test's own matcher against AZURE-REFERENCE §1.3, by hand."""
    assert _pattern(f"{ML}/workspaces/*/read").fullmatch(f"{ML}/workspaces/read")
    assert _pattern(f"{ML}/workspaces/*/read").fullmatch(f"{ML}/workspaces/serverlessEndpoints/read")
    assert not _pattern(f"{ML}/workspaces/*/read").fullmatch(f"{ML}/workspacesX/read")
    assert _pattern("*/read").fullmatch("Microsoft.Resources/subscriptions/read")
    assert _pattern("microsoft.web/sites/restart/Action").fullmatch("Microsoft.Web/sites/restart/action")
    assert not _pattern(f"{ML}/workspaces/listKeys/action").fullmatch(
        f"{ML}/workspaces/serverlessEndpoints/listKeys/action"
    )
    owner, contributor, reader, developer, scientist, operator = AZURE_ROLES
    assert grants(contributor, "Microsoft.Authorization/roleAssignments/read")
    assert not grants(contributor, "Microsoft.Authorization/roleAssignments/write")
    assert grants(reader, "Microsoft.CostManagement/query/read") and not grants(
        reader, f"{ML}/workspaces/write"
    )
    assert grants(developer, f"{ML}/workspaces/serverlessEndpoints/listKeys/action")
    assert not grants(developer, f"{ML}/workspaces/write") and grants(developer, f"{ML}/workspaces/read")
    assert grants(scientist, f"{ML}/workspaces/connections/listsecrets/action")
    assert not grants(scientist, "Microsoft.Authorization/roleAssignments/read")
    assert grants(operator, "Microsoft.Resources/deployments/write") and not grants(
        operator, f"{ML}/workspaces/read"
    )
    assert grants(owner, "Microsoft.Authorization/roleAssignments/write")
    assert grants(CUSTOM, f"{ML}/workspaces/serverlessEndpoints/listKeys/action")
    assert not grants(CUSTOM, f"{ML}/workspaces/serverlessEndpoints/regenerateKeys/action")
    assert within("/", "/subscriptions/a") and within("/subscriptions/A", "/subscriptions/a/resourceGroups/g")
    assert not within("/subscriptions/a/resourceGroups/rg-a", "/subscriptions/a/resourceGroups/rg-a2")
    assert not within("/subscriptions/a/resourceGroups/rg-a", "/subscriptions/a")


def test_the_isolation_matrix(
    api: Api, client: TestClient, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    control: FastAPI = client.app.control  # type: ignore[attr-defined]
    missing_kinds = [kind.arm_type for kind in KINDS if kind.arm_type not in BUILDERS]
    assert not missing_kinds, f"kinds with no cases in the matrix: {missing_kinds}"
    fx = build(api)
    _check_published_roles(api)
    cases = all_cases(fx)

    # Every management route is reached by some case, or excluded above with its reason.
    served = app_routes(control)
    assert set(EXCLUDED) <= served, f"excluded routes the app does not serve: {set(EXCLUDED) - served}"
    reached: set[tuple[str, str]] = set()
    for case in cases:
        route = route_of(control, case.method, case.path.replace("{guid}", _new()))
        assert route is not None, f"{case.label}: {case.method} {case.path} reaches no route"
        reached.add(route)
    studio = {r for r in served if any(r[1] == p or r[1].startswith(p + "/") for p in EXCLUDED_PREFIXES)}
    missing = served - reached - set(EXCLUDED) - studio
    assert not missing, f"routes the matrix does not cover: {sorted(missing)}"

    backend = store_url.split(":", 1)[0]
    who = principals(api, fx, ON_POSTGRES if backend.startswith("postgres") else None)

    async def run_all() -> Tally:
        transport = httpx.ASGITransport(app=client.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            runner = Runner(Client(http), api.token, fx)
            for principal in who:
                for case in cases:
                    await runner.run(principal, case)
            return runner.tally

    assert client.portal is not None  # the app runs (its lifespan is open) in this loop
    tally = client.portal.call(run_all)

    seconds = time.monotonic() - started
    operations = len({c.label for c in cases})
    with capsys.disabled():
        print(
            f"\nisolation matrix ({backend}): {tally.cases} cases ({len(who)} principals × "
            f"{operations} operations on {len(cases)} targets; {tally.inside} inside, {tally.outside} "
            f"outside; {tally.allowed} allowed, {tally.denied} denied), {len(tally.leaks)} leaks, "
            f"{len(tally.wrong_denials)} wrong denials, {len(tally.errors)} errors, {seconds:.1f} s"
        )
    assert not tally.errors, "\n".join(tally.errors[:40])
    assert not tally.leaks, "\n".join(tally.leaks[:40])
    assert not tally.wrong_denials, "\n".join(tally.wrong_denials[:40])
    assert tally.allowed and tally.denied

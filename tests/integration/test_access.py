"""Identity and access (DESIGN §7): tokens, principals, built-in roles at resource-group scope,
the Azure-style 403, and listings that show only what the caller may read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from support.api import FREE_MODEL, ML, Api, World

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AI_DEVELOPER = "64702f94-c441-49e6-a78b-ef80e0188fee"
DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
RA = "/providers/Microsoft.Authorization/roleAssignments"
RD = "/providers/Microsoft.Authorization/roleDefinitions"


def _denied(response: httpx.Response, action: str, scope: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert (
        f"does not have authorization to perform action '{action}' over scope '{scope}'" in error["message"]
    )


def _user(api: Api, name: str, role: str | None, scope: str) -> tuple[Api, str]:
    principal_id, token = api.principal(name)
    if role is not None:
        api.ok(api.assign(scope, principal_id, role), 201)
    return api.as_token(token), principal_id


def _assignment_body(principal_id: str, role: str = READER) -> dict[str, Any]:
    return {"properties": {"roleDefinitionId": f"{RD}/{role}", "principalId": principal_id}}


def _two_groups(api: Api) -> tuple[World, World]:
    world = api.world()
    other = api.world(World(rg="rg2", ws="ws2"), catalog=False)
    return world, other


# -- authentication ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "AuthenticationFailed"),
        ("Bearer ", "InvalidAuthenticationToken"),
        ("Bearer not-a-token", "InvalidAuthenticationToken"),
        ("Basic dXNlcjpwYXNz", "InvalidAuthenticationToken"),
        ("test-admin-token-0123456789", "InvalidAuthenticationToken"),
    ],
)
def test_requests_without_a_valid_token_are_401(api: Api, header: str | None, code: str) -> None:
    world = api.world(catalog=False)
    headers = {} if header is None else {"Authorization": header}
    for method, path in (
        ("GET", world.ws_path),
        ("GET", "/subscriptions"),
        ("PUT", world.endpoint("x")),
        ("GET", "/registries"),
    ):
        response = api.client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["code"] == code
        assert "Authentication failed" in response.json()["error"]["message"]


def test_a_principal_gets_its_token_once(api: Api) -> None:
    created = api.put("/providers/Microsoft.MaaS/principals/alice", {"properties": {"principalType": "User"}})
    body = api.ok(created, 201)
    token = body["properties"]["token"]
    assert token.startswith("maas_") and body["type"] == "Microsoft.MaaS/principals"
    again = api.ok(api.put("/providers/Microsoft.MaaS/principals/alice", {}), 200)
    assert "token" not in again["properties"]
    assert again["properties"]["principalId"] == body["properties"]["principalId"]
    shown = api.ok(api.get("/providers/Microsoft.MaaS/principals/alice"), 200)
    assert "token" not in shown["properties"]
    # The token works; with no role it sees nothing.
    assert api.ok(api.as_token(token).get("/subscriptions"), 200)["value"] == []
    bad = api.put("/providers/Microsoft.MaaS/principals/bob", {"properties": {"principalType": "Robot"}})
    assert bad.status_code == 400 and bad.json()["error"]["target"] == "properties.principalType"


def test_only_an_owner_at_the_root_creates_principals(api: Api) -> None:
    world = api.world(catalog=False)
    contributor, _ = _user(api, "carol", CONTRIBUTOR, world.rg_path)
    _denied(
        contributor.put("/providers/Microsoft.MaaS/principals/mallory", {}),
        "Microsoft.MaaS/principals/write",
        "/",
    )
    assert api.get("/providers/Microsoft.MaaS/principals/mallory").status_code == 404


# -- built-in roles ---------------------------------------------------------------------------
def test_reader_can_read_but_not_write(api: Api) -> None:
    world = api.world()
    api.wait_operation(api.create_endpoint(world, "phi", FREE_MODEL))
    reader, _ = _user(api, "rita", READER, world.rg_path)
    assert reader.ok(reader.get(world.ws_path), 200)["name"] == "ws1"
    assert reader.ok(reader.get(world.endpoint("phi")), 200)["name"] == "phi"
    assert [
        e["name"] for e in reader.ok(reader.get(f"{world.ws_path}/serverlessEndpoints"), 200)["value"]
    ] == ["phi"]
    assert reader.ok(reader.get(world.rg_path), 200)["name"] == "rg1"
    _denied(reader.put(world.ws_path, {"location": "eastus2"}), f"{ML}/workspaces/write", world.ws_path)
    _denied(
        reader.create_endpoint(world, "phi-2", FREE_MODEL),
        f"{ML}/workspaces/serverlessEndpoints/write",
        world.endpoint("phi-2"),
    )
    _denied(
        reader.post(world.endpoint("phi") + "/listKeys"),
        f"{ML}/workspaces/serverlessEndpoints/listKeys/action",
        world.endpoint("phi"),
    )
    _denied(
        reader.delete(world.endpoint("phi")),
        f"{ML}/workspaces/serverlessEndpoints/delete",
        world.endpoint("phi"),
    )
    assert api.ok(api.get(world.endpoint("phi")), 200)["properties"]["provisioningState"] == "Succeeded"


AGREEMENT = (
    "/providers/Microsoft.MarketplaceOrdering/agreements/metagenai/offers/meta-llama-3-8b-instruct"
    "/plans/meta-llama-3-8b-instruct"
)


@pytest.mark.parametrize("role", [AI_DEVELOPER, DATA_SCIENTIST])
def test_workspace_roles_run_the_seed_flow(api: Api, role: str) -> None:
    world = api.world()
    dev, principal_id = _user(api, "dev", role, world.rg_path)
    assert dev.ok(dev.get(world.ws_path), 200)["name"] == "ws1"
    # Subscribing needs the MarketplaceOrdering actions on the subscription: a role held on the
    # resource group is not enough (the seed: "... role for the Azure subscription").
    _denied(
        dev.subscribe(world),
        "Microsoft.MarketplaceOrdering/agreements/offers/plans/read",
        world.sub_path + AGREEMENT,
    )
    api.ok(api.subscribe(world), 201)
    created = dev.create_endpoint(world, "llama")
    assert created.status_code == 201, created.text
    assert dev.wait_operation(created)["status"] == "Succeeded"
    assert dev.get(created.headers["Location"].removeprefix("http://testserver")).status_code == 204
    keys = dev.ok(dev.post(world.endpoint("llama") + "/listKeys"), 200)
    assert len(keys["primaryKey"]) == 64
    rotated = dev.ok(dev.post(world.endpoint("llama") + "/regenerateKeys", {"keyType": "Secondary"}), 200)
    assert rotated["secondaryKey"] != keys["secondaryKey"]
    connection = {
        "properties": {
            "category": "Serverless",
            "target": "https://maas.example/endpoints/eastus2/llama",
            "credentials": {"key": keys["primaryKey"]},
        }
    }
    dev.ok(dev.put(f"{world.ws_path}/connections/llama", connection), 201)
    assert dev.ok(dev.post(f"{world.ws_path}/connections/llama/listsecrets"), 200)["properties"][
        "credentials"
    ]
    deleting = dev.delete(world.endpoint("llama"))
    assert deleting.status_code == 202
    assert dev.wait_operation(deleting)["status"] == "Succeeded"
    assert dev.delete(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 204
    assert dev.delete(f"{world.ws_path}/connections/llama").status_code == 204

    # ... but not manage the workspace itself, nor grant access.
    _denied(dev.put(world.ws_path, {"location": "eastus2"}), f"{ML}/workspaces/write", world.ws_path)
    _denied(dev.delete(world.ws_path), f"{ML}/workspaces/delete", world.ws_path)
    name = str(uuid.uuid4())
    _denied(
        dev.put(f"{world.rg_path}{RA}/{name}", _assignment_body(principal_id, OWNER)),
        "Microsoft.Authorization/roleAssignments/write",
        world.rg_path,
    )
    assert api.get(f"{world.rg_path}{RA}/{name}").status_code == 404


@pytest.mark.parametrize("role", [OWNER, CONTRIBUTOR, AI_DEVELOPER])
def test_the_seed_roles_on_the_subscription_subscribe(api: Api, role: str) -> None:
    world = api.world()
    user, _ = _user(api, "subscriber", role, world.sub_path)
    created = user.ok(user.subscribe(world), 201)
    assert created["properties"]["marketplaceSubscriptionStatus"] == "Subscribed"
    assert user.ok(user.get(world.sub_path + AGREEMENT), 200)["properties"]["accepted"] is True


def test_data_scientist_on_the_subscription_does_not_subscribe(api: Api) -> None:
    world = api.world()
    scientist, _ = _user(api, "sci", DATA_SCIENTIST, world.sub_path)
    _denied(
        scientist.subscribe(world),
        "Microsoft.MarketplaceOrdering/agreements/offers/plans/read",
        world.sub_path + AGREEMENT,
    )


def test_ai_developer_reads_assignments_but_data_scientist_does_not(api: Api) -> None:
    world = api.world(catalog=False)
    dev, _ = _user(api, "dev", AI_DEVELOPER, world.rg_path)
    scientist, _ = _user(api, "sci", DATA_SCIENTIST, world.rg_path)
    listed = dev.ok(dev.get(f"{world.rg_path}{RA}"), 200)["value"]
    assert len(listed) == 2
    _denied(
        scientist.get(f"{world.rg_path}{RA}"), "Microsoft.Authorization/roleAssignments/read", world.rg_path
    )


def test_contributor_manages_resources_but_not_access(api: Api) -> None:
    world = api.world()
    contributor, principal_id = _user(api, "carol", CONTRIBUTOR, world.rg_path)
    api.ok(contributor.put(world.ws_path, {"location": "eastus2", "tags": {"by": "carol"}}), 200)
    # On the resource group only: the workspace's subscription needs the subscription's actions.
    _denied(
        contributor.subscribe(world),
        "Microsoft.MarketplaceOrdering/agreements/offers/plans/read",
        world.sub_path + AGREEMENT,
    )
    api.ok(api.subscribe(world), 201)
    assert contributor.wait_operation(contributor.create_endpoint(world, "llama"))["status"] == "Succeeded"
    _denied(
        contributor.put(f"{world.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(principal_id, OWNER)),
        "Microsoft.Authorization/roleAssignments/write",
        world.rg_path,
    )
    existing = api.ok(api.get(f"{world.rg_path}{RA}"), 200)["value"][0]["name"]
    _denied(
        contributor.delete(f"{world.rg_path}{RA}/{existing}"),
        "Microsoft.Authorization/roleAssignments/delete",
        world.rg_path,
    )


def test_owner_of_a_group_grants_access_there_only(api: Api) -> None:
    world, other = _two_groups(api)
    owner, _ = _user(api, "olga", OWNER, world.rg_path)
    reader_id, reader_token = api.principal("rita")
    assigned = owner.put(f"{world.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(reader_id))
    body = owner.ok(assigned, 201)
    assert body["properties"]["scope"] == world.rg_path
    assert body["properties"]["roleDefinitionId"] == f"{RD}/{READER}"
    assert body["type"] == "Microsoft.Authorization/roleAssignments"
    assert api.as_token(reader_token).get(world.ws_path).status_code == 200
    _denied(
        owner.put(f"{other.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(reader_id)),
        "Microsoft.Authorization/roleAssignments/write",
        other.rg_path,
    )
    # The same role for the same principal at the same scope twice is a conflict.
    twice = owner.put(f"{world.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(reader_id))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "RoleAssignmentExists"


def test_removing_an_assignment_removes_access_at_once(api: Api) -> None:
    world = api.world(catalog=False)
    principal_id, token = api.principal("rita")
    name = str(uuid.uuid4())
    api.ok(api.put(f"{world.rg_path}{RA}/{name}", _assignment_body(principal_id)), 201)
    reader = api.as_token(token)
    assert reader.get(world.ws_path).status_code == 200
    assert api.delete(f"{world.rg_path}{RA}/{name}").status_code == 204
    _denied(reader.get(world.ws_path), f"{ML}/workspaces/read", world.ws_path)
    assert api.delete(f"{world.rg_path}{RA}/{name}").status_code == 204


def test_no_assignment_means_403(api: Api) -> None:
    world = api.world()
    nobody, _ = _user(api, "nobody", None, world.rg_path)
    _denied(nobody.get(world.ws_path), f"{ML}/workspaces/read", world.ws_path)
    _denied(nobody.get(world.rg_path), "Microsoft.Resources/subscriptions/resourceGroups/read", world.rg_path)
    _denied(
        nobody.subscribe(world),
        f"{ML}/workspaces/marketplaceModelSubscriptions/write",
        world.subscription("Meta-Llama-3-8B-Instruct"),
    )
    assert nobody.ok(nobody.get("/subscriptions"), 200)["value"] == []


def test_an_assignment_at_one_group_gives_nothing_on_another(api: Api) -> None:
    world, other = _two_groups(api)
    dev, _ = _user(api, "dev", AI_DEVELOPER, world.rg_path)
    assert dev.create_endpoint(world, "phi", FREE_MODEL).status_code == 201
    _denied(dev.get(other.ws_path), f"{ML}/workspaces/read", other.ws_path)
    _denied(
        dev.create_endpoint(other, "phi-2", FREE_MODEL),
        f"{ML}/workspaces/serverlessEndpoints/write",
        other.endpoint("phi-2"),
    )
    # A group whose name merely starts with the same letters is another scope too.
    longer = api.world(World(rg="rg1-prod", ws="ws3"), catalog=False)
    _denied(dev.get(longer.ws_path), f"{ML}/workspaces/read", longer.ws_path)


def test_an_assignment_at_a_workspace_covers_only_that_workspace(api: Api) -> None:
    world = api.world()
    neighbour = api.world(World(ws="ws2"), catalog=False)
    dev, _ = _user(api, "dev", AI_DEVELOPER, world.ws_path)
    created = dev.create_endpoint(world, "phi", FREE_MODEL)
    assert created.status_code == 201
    assert dev.wait_operation(created)["status"] == "Succeeded"
    _denied(
        dev.create_endpoint(neighbour, "phi-2", FREE_MODEL),
        f"{ML}/workspaces/serverlessEndpoints/write",
        neighbour.endpoint("phi-2"),
    )
    # Operation status is readable only by who may read the resource.
    outsider, _ = _user(api, "outsider", READER, neighbour.ws_path)
    status = created.headers["Azure-AsyncOperation"].removeprefix("http://testserver").split("?")[0]
    _denied(outsider.get(status), f"{ML}/workspaces/serverlessEndpoints/read", world.endpoint("phi"))


def test_role_assignment_validation(api: Api) -> None:
    world = api.world(catalog=False)
    principal_id, _ = api.principal("rita")
    bad_name = api.put(f"{world.rg_path}{RA}/not-a-guid", _assignment_body(principal_id))
    assert bad_name.status_code == 400 and bad_name.json()["error"]["code"] == "InvalidResourceName"
    unknown_role = api.put(
        f"{world.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(principal_id, str(uuid.uuid4()))
    )
    assert (
        unknown_role.status_code == 400
        and unknown_role.json()["error"]["code"] == "RoleDefinitionDoesNotExist"
    )
    nobody = api.put(f"{world.rg_path}{RA}/{uuid.uuid4()}", _assignment_body(str(uuid.uuid4())))
    assert nobody.status_code == 400 and nobody.json()["error"]["code"] == "PrincipalNotFound"
    no_scope = api.put(
        f"{world.sub_path}/resourceGroups/nope{RA}/{uuid.uuid4()}", _assignment_body(principal_id)
    )
    assert no_scope.status_code == 404 and no_scope.json()["error"]["code"] == "InvalidScope"
    # The subscription-scoped role id form that requests use is accepted.
    body = {"properties": {"roleDefinitionId": f"{world.sub_path}{RD}/{READER}", "principalId": principal_id}}
    created = api.ok(api.put(f"{world.rg_path}{RA}/{uuid.uuid4()}", body), 201)
    assert created["properties"]["roleDefinitionId"] == f"{RD}/{READER}"


# -- role definitions -------------------------------------------------------------------------
def test_built_in_role_definitions_are_listed_exactly(api: Api) -> None:
    world = api.world(catalog=False)
    reader, _ = _user(api, "rita", READER, world.rg_path)
    for path in (RD, f"{world.sub_path}{RD}", f"{world.rg_path}{RD}"):
        roles = {r["properties"]["roleName"]: r for r in reader.ok(reader.get(path), 200)["value"]}
        assert {
            "Owner",
            "Contributor",
            "Reader",
            "Azure AI Developer",
            "AzureML Data Scientist",
            "Azure AI Inference Deployment Operator",
        } <= set(roles)
    assert roles["Reader"]["name"] == READER
    assert roles["Reader"]["id"] == f"{RD}/{READER}"
    assert roles["Reader"]["type"] == "Microsoft.Authorization/roleDefinitions"
    assert roles["Reader"]["properties"]["type"] == "BuiltInRole"
    assert roles["Reader"]["properties"]["permissions"][0]["actions"] == ["*/read"]
    assert roles["Owner"]["properties"]["assignableScopes"] == ["/"]
    assert roles["Contributor"]["properties"]["permissions"][0]["notActions"][:3] == [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
    ]
    assert roles["Azure AI Developer"]["properties"]["description"] == (
        "Can perform all actions within an Azure AI resource besides managing the resource itself."
    )
    one = reader.ok(reader.get(f"{RD}/{AI_DEVELOPER.upper()}"), 200)
    assert one["properties"]["roleName"] == "Azure AI Developer"
    missing = reader.get(f"{RD}/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


# -- listings ---------------------------------------------------------------------------------
def test_listings_hide_what_the_caller_cannot_read(api: Api) -> None:
    world, other = _two_groups(api)
    api.ok(api.subscribe(world), 201)
    api.ok(api.subscribe(other), 201)
    api.create_endpoint(world, "phi-1", FREE_MODEL)
    api.create_endpoint(other, "phi-2", FREE_MODEL)
    everything = api.ok(api.get(f"{world.sub_path}/resources"), 200)["value"]
    assert len(everything) == 8

    reader, _ = _user(api, "rita", READER, world.rg_path)
    seen = reader.ok(reader.get(f"{world.sub_path}/resources"), 200)["value"]
    assert {item["id"].split("/")[4] for item in seen} == {"rg1"}
    assert len(seen) == 4
    assert reader.ok(reader.get(f"{other.rg_path}/resources"), 200)["value"] == []
    assert [g["name"] for g in reader.ok(reader.get(f"{world.sub_path}/resourceGroups"), 200)["value"]] == [
        "rg1"
    ]
    workspaces = reader.ok(reader.get(f"{world.sub_path}/providers/{ML}/workspaces"), 200)["value"]
    assert [w["name"] for w in workspaces] == ["ws1"]

    # Azure AI Developer reads the workspace's children and (MaaS's seed deviation, see
    # domain/authz.py) the SaaS item; AzureML Data Scientist not the SaaS item (a Microsoft.SaaS type).
    dev, _ = _user(api, "dev", AI_DEVELOPER, world.rg_path)
    types = sorted(item["type"] for item in dev.ok(dev.get(f"{world.rg_path}/resources"), 200)["value"])
    assert types == [
        f"{ML}/workspaces",
        f"{ML}/workspaces/marketplaceSubscriptions",
        f"{ML}/workspaces/serverlessEndpoints",
        "Microsoft.SaaS/resources",
    ]
    scientist, _ = _user(api, "sci", DATA_SCIENTIST, world.rg_path)
    seen = scientist.ok(scientist.get(f"{world.rg_path}/resources"), 200)["value"]
    assert "Microsoft.SaaS/resources" not in {item["type"] for item in seen}


def test_paged_listing_for_a_restricted_caller_skips_hidden_items(api: Api) -> None:
    world, other = _two_groups(api)
    for i in range(4):
        model = f"azureml://registries/paging/models/model-{i}"
        api.add_model(model)
        api.ok(api.offer(f"offer-{i}", model), 201)
        api.create_endpoint(world, f"a-{i}", model)
        api.create_endpoint(other, f"b-{i}", model)
    reader, _ = _user(api, "rita", READER, other.rg_path)
    names: list[str] = []
    url: str | None = f"{world.sub_path}/resources?$top=2"
    while url is not None:
        body = reader.ok(reader.client.get(url, headers={"Authorization": f"Bearer {reader.token}"}), 200)
        names += [item["name"] for item in body["value"]]
        url = body.get("nextLink", "").removeprefix("http://testserver") or None
    assert sorted(names) == ["b-0", "b-1", "b-2", "b-3", "ws2"]


def test_an_account_is_listed_to_whoever_holds_a_role_inside_it(api: Api) -> None:
    world = api.world()
    api.account("00000000-0000-0000-0000-000000000002")
    dev, _ = _user(api, "listed-dev", AI_DEVELOPER, world.rg_path)
    listed = dev.ok(dev.get("/subscriptions"), 200)["value"]
    assert [a["subscriptionId"] for a in listed] == [world.sub]
    # Listing is not reading: the account itself stays out of reach.
    _denied(dev.get(world.sub_path), "Microsoft.Resources/subscriptions/read", world.sub_path)

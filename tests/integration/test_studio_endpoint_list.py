"""Studio's Endpoints → Serverless endpoints (issue 14 item 5, the list), through HTTP: name (a
link to the endpoint's page), model, state (Succeeded; Unhealthy once its marketplace
subscription is deleted), created; paged through the endpoints service's keyed listing (120
endpoints, made through the services in-process); an empty workspace says what to do next;
bad paging input and missing rights are said in words, never a 500."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.controlplane.domain.authz import Grant, find_builtin_role
from maas.controlplane.domain.resources import SYSTEM
from maas.controlplane.services import catalog, endpoints, offers
from maas.controlplane.services.context import Caller, Services
from maas.protocol.management.catalog import ModelVersionBody
from maas.protocol.management.endpoints import EndpointBody
from maas.protocol.management.marketplace import OfferBody
from maas.web.routes.endpoint_list import PAGE_SIZE, decode_token, encode_token
from support.api import MODEL, Api, World
from support.studio import csrf_of, parse, sign_in

USERS = "/providers/Microsoft.MaaS/users"
PASSWORD = "correct horse battery"
ROW = re.compile(r'<td><a href="/studio/endpoints/([^"]+)">')


@pytest.fixture
def world(api: Api) -> World:
    return api.world(catalog=True)


def choose(client: TestClient, world: World) -> None:
    picker = client.get(f"/studio/workspace?sub={world.sub}&rg={world.rg}")
    data = {"csrf_token": csrf_of(picker.text), "sub": world.sub, "rg": world.rg, "name": world.ws}
    answer = client.post("/studio/workspace", data=data | {"next": "/studio"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    choose(client, world)
    return client


def services_of(client: TestClient) -> Services:
    found: Services = client.app.state.process.services  # type: ignore[attr-defined]
    return found


def system() -> Caller:
    owner = find_builtin_role("Owner")
    assert owner is not None
    return Caller(SYSTEM, (Grant("/", owner),))


def many_endpoints(client: TestClient, world: World, count: int) -> list[str]:
    """`count` endpoints in the world's workspace (one model and free offer each, as a workspace
    has one endpoint per model), made through the services in-process: no HTTP round trips."""
    services, caller = services_of(client), system()
    artifact = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
    names = []
    for index in range(count):
        model = f"bulk-{index:03d}"
        model_id = f"azureml://registries/bulk/models/{model}"
        body = ModelVersionBody.model_validate({"properties": {"artifact": artifact}})
        catalog.put_model_version(services, caller, "bulk", model, "1", body)
        offer = OfferBody.model_validate(
            {"properties": {"modelId": model_id, "publisherId": "bulk", "kind": "FirstParty", "meters": []}}
        )
        offers.put_offer(services, caller, model, offer)
        endpoint = EndpointBody.model_validate(
            {"sku": {"name": "Consumption"}, "properties": {"modelSettings": {"modelId": model_id}}}
        )
        name = f"ep-{index:03d}"
        endpoints.put_endpoint(services, caller, world.sub, world.rg, world.ws, name, endpoint)
        names.append(name)
    return names


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def settled(api: Api, world: World, name: str) -> None:
    for _ in range(500):
        body = api.ok(api.get(world.endpoint(name)), 200)
        if body["properties"]["provisioningState"] == "Succeeded":
            return
        time.sleep(0.02)
    raise AssertionError(f"{name} never settled")


def test_an_empty_workspace_says_what_to_do_next(admin: TestClient) -> None:
    page = admin.get("/studio/endpoints")
    assert page.status_code == 200
    found = parse(page.text)
    assert 'aria-current="page">Serverless endpoints</a>' in page.text
    assert 'aria-current="page">Endpoints</a>' in page.text  # the sidebar entry
    assert "No serverless endpoints yet" in found.text
    assert found.links["Model catalog"] == "/studio/catalog"


def test_the_list_shows_name_model_state_and_created_and_unhealthy_after_unsubscribing(
    admin: TestClient, api: Api, world: World
) -> None:
    api.ok(api.subscribe(world), 201)
    api.ok(api.create_endpoint(world, "llama-one"), 201)
    settled(api, world, "llama-one")
    page = admin.get("/studio/endpoints")
    found = parse(page.text)
    assert found.links["llama-one"] == "/studio/endpoints/llama-one"
    assert '<th scope="col">Name</th><th scope="col">Model</th><th scope="col">State</th>' in page.text
    assert f'title="{MODEL}">Meta-Llama-3-8B-Instruct<' in page.text
    assert '<span class="state state-succeeded">Succeeded</span>' in page.text
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC</td>", page.text)

    # Deleting the subscription turns its endpoint Unhealthy, as the API reports it.
    api.ok(api.delete(world.subscription("Meta-Llama-3-8B-Instruct")), 200, 204)
    shown = api.ok(api.get(world.endpoint("llama-one")), 200)["properties"]
    assert shown["endpointState"] == "Unhealthy"
    page = admin.get("/studio/endpoints")
    assert '<span class="state state-unhealthy">Unhealthy</span>' in page.text


def test_the_list_pages_through_120_endpoints(admin: TestClient, api: Api, world: World) -> None:
    names = many_endpoints(admin, world, 120)
    first = admin.get("/studio/endpoints")
    assert first.status_code == 200
    assert rows(first.text) == names[:PAGE_SIZE]
    page = parse(first.text)
    assert "First page" not in page.links
    seen = list(rows(first.text))
    next_url = page.links["Next page"]
    pages = 1
    while next_url:
        assert parse_qs(urlsplit(next_url).query).keys() == {"skiptoken"}
        answer = admin.get(next_url)
        assert answer.status_code == 200
        page = parse(answer.text)
        seen += rows(answer.text)
        pages += 1
        assert page.links["First page"] == "/studio/endpoints"
        next_url = page.links.get("Next page", "")
    assert pages == 3 and seen == names  # 50 + 50 + 20, in order, none twice

    smaller = admin.get("/studio/endpoints", params={"top": "7"})
    assert rows(smaller.text) == names[:7]
    follow = parse(smaller.text).links["Next page"]
    assert parse_qs(urlsplit(follow).query)["top"] == ["7"]
    assert rows(admin.get(follow).text) == names[7:14]


@pytest.mark.parametrize(
    "query", ["skiptoken=%%%", "skiptoken=QUJD", "skiptoken=" + "A" * 3000, "top=0", "top=x"]
)
def test_bad_paging_input_is_answered_in_words(admin: TestClient, api: Api, world: World, query: str) -> None:
    api.ok(api.create_endpoint(world, "only-one", "azureml://registries/azureml/models/Phi-3-mini"), 201)
    page = admin.get(f"/studio/endpoints?{query}")
    assert page.status_code == 200
    assert rows(page.text) == ["only-one"]
    if query.startswith("skiptoken"):
        assert "no longer valid" in " ".join(parse(page.text).alerts)


def test_page_tokens_are_resource_keys_only() -> None:
    key = "/subscriptions/x/resourcegroups/rg/providers/a/b/c"
    assert decode_token(encode_token(key)) == key
    assert decode_token(encode_token("/Upper")) is None
    assert decode_token(encode_token("not-a-key")) is None
    assert decode_token("!!") is None


def test_a_user_who_may_not_read_endpoints_reads_why(client: TestClient, api: Api, world: World) -> None:
    """A custom role that reads the workspace but not its endpoints: an alert naming the action."""
    guid = str(uuid.uuid4())
    role = {
        "properties": {
            "roleName": "Workspace viewer",
            "permissions": [
                {"actions": ["Microsoft.MachineLearningServices/workspaces/read"], "notActions": []}
            ],
            "assignableScopes": [world.sub_path],
        }
    }
    api.ok(api.put(f"{world.sub_path}/providers/Microsoft.Authorization/roleDefinitions/{guid}", role), 201)
    upn = "viewer@contoso.example"
    body = {"properties": {"displayName": "Viewer", "passwordProfile": {"password": PASSWORD}}}
    object_id = api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"]
    api.ok(api.assign(world.ws_path, object_id, guid), 201)
    client.cookies.clear()
    sign_in(client, upn, PASSWORD)
    choose(client, world)
    page = client.get("/studio/endpoints")
    assert page.status_code == 200
    alert = " ".join(parse(page.text).alerts)
    assert "you need Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read" in alert
    assert "No serverless endpoints yet" not in page.text

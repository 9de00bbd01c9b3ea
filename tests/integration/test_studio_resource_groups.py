"""Studio's resource group view (issue 14 item 7) over HTTP, on SQLite and PostgreSQL: the
account's groups, a group's resources with the Type filter and Show hidden types, the SaaS view
(offer, status, Delete), deleting a subscription turning its endpoints Unhealthy, a resource's
details, paging, RBAC shown as disabled controls, and bad input answered in words."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.controlplane.services import resources
from maas.controlplane.services.access import caller_for
from maas.core.errors import AuthorizationFailed, BadRequest, NotFound
from support.api import ML, Api, World
from support.studio import csrf_of, parse, sign_in
from support.studio_flows import READER, user_with_role

SAAS = "Microsoft.SaaS/resources"
ENDPOINTS = f"{ML}/workspaces/serverlessEndpoints"
SAAS_DELETE = "Microsoft.SaaS/resources/delete"


@pytest.fixture
def world(api: Api) -> World:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    created = api.create_endpoint(world, "meta-llama3-8b-qwerty")
    assert created.status_code == 201 and api.wait_operation(created)["status"] == "Succeeded"
    connection = {
        "properties": {"category": "Serverless", "target": "https://x.example/", "credentials": {"key": "k"}}
    }
    api.ok(api.put(f"{world.ws_path}/connections/conn-1", connection), 201)
    return world


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    return client


def group_url(world: World, **query: str) -> str:
    return f"/studio/resource-groups/{world.sub}/{world.rg}" + (f"?{urlencode(query)}" if query else "")


def saas_name(api: Api, world: World) -> str:
    listed = api.ok(api.get(f"{world.rg_path}/providers/{SAAS}"), 200)["value"]
    assert len(listed) == 1
    return str(listed[0]["name"])


def rows_of(html: str) -> list[str]:
    """The text of each body row of the resources table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [" ".join(parse(row).text.split()) for row in body.split("<tr>")[1:]]


def test_resource_groups_lists_the_accounts_groups(admin: TestClient, api: Api, world: World) -> None:
    api.ok(api.put(f"{world.sub_path}/resourceGroups/rg-second", {"location": "westus3"}))
    page = admin.get("/studio/resource-groups")
    assert page.status_code == 200
    found = parse(page.text)
    assert found.links[world.rg] == f"/studio/resource-groups/{world.sub}/{world.rg}"
    assert found.links["rg-second"] == f"/studio/resource-groups/{world.sub}/rg-second"
    assert "Resource groups" in found.links  # the sidebar entry
    unknown = admin.get("/studio/resource-groups", params={"sub": "no-such-account"})
    assert unknown.status_code == 200 and "no-such-account" in " ".join(parse(unknown.text).alerts)


def test_endpoints_are_hidden_until_show_hidden_types(admin: TestClient, api: Api, world: World) -> None:
    shown = admin.get(group_url(world))
    assert shown.status_code == 200
    rows = rows_of(shown.text)
    assert any(row.startswith(f"{world.ws} Workspace") for row in rows)
    assert any(row.startswith(saas_name(api, world)) and " SaaS " in f" {row} " for row in rows)
    assert "meta-llama3-8b-qwerty" not in shown.text and "conn-1" not in shown.text
    assert ">State<" not in shown.text
    assert 'id="hidden"' in shown.text and "Show hidden types" in shown.text

    hidden = admin.get(group_url(world, hidden="1"))
    rows = rows_of(hidden.text)
    assert ">State<" in hidden.text
    assert "meta-llama3-8b-qwerty Serverless endpoint eastus2 Online" in rows
    assert any(row.startswith("conn-1 Connection") for row in rows)
    assert any(row.startswith("Meta-Llama-3-8B-Instruct Marketplace subscription") for row in rows)


def test_the_type_filter_saas_shows_the_subscriptions_offer_status_and_delete(
    admin: TestClient, api: Api, world: World
) -> None:
    name = saas_name(api, world)
    page = admin.get(group_url(world, type=SAAS))
    assert page.status_code == 200
    assert '<option value="Microsoft.SaaS/resources" selected>SaaS</option>' in page.text
    rows = rows_of(page.text)
    assert rows == [
        f"{name} meta-llama-3-8b-instruct metagenai · meta-llama-3-8b-instruct Subscribed global Delete"
    ]
    assert ">Offer<" in page.text and ">Status<" in page.text
    found = parse(page.text)
    delete = f"/studio/resource-groups/{world.sub}/{world.rg}/saas/{name}/delete?type={SAAS}"
    assert {"action": delete, "method": "post"} in found.forms
    assert 'data-confirm="Delete the subscription' in page.text
    # The Type filter only: a workspace filter shows the workspace alone.
    assert [r.split()[0] for r in rows_of(admin.get(group_url(world, type=f"{ML}/workspaces")).text)] == [
        world.ws
    ]
    # A hidden type chosen in the filter shows (and says) hidden types.
    endpoints = admin.get(group_url(world, type=ENDPOINTS))
    assert rows_of(endpoints.text) == ["meta-llama3-8b-qwerty Serverless endpoint eastus2 Online"]


def test_deleting_the_subscription_turns_its_endpoints_unhealthy(
    admin: TestClient, api: Api, world: World
) -> None:
    name = saas_name(api, world)
    page = admin.get(group_url(world, type=SAAS))
    answer = admin.post(
        f"/studio/resource-groups/{world.sub}/{world.rg}/saas/{name}/delete?type={SAAS}",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert parse_qs(location.query) == {"type": [SAAS], "deleted": [name]}
    after = admin.get(f"{location.path}?{location.query}")
    assert f"Deleted the subscription {name}" in parse(after.text).text
    assert "No marketplace subscriptions" in after.text
    # The same service as the API: the SaaS item is gone, the subscription too, the endpoint Unhealthy.
    assert api.get(f"{world.rg_path}/providers/{SAAS}/{name}").status_code == 404
    assert api.get(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 404
    endpoint = api.ok(api.get(world.endpoint("meta-llama3-8b-qwerty")), 200)
    assert endpoint["properties"]["endpointState"] == "Unhealthy"
    hidden = admin.get(group_url(world, hidden="1"))
    assert "meta-llama3-8b-qwerty Serverless endpoint eastus2 Unhealthy" in rows_of(hidden.text)
    # Deleting it again says it is gone, in words.
    again = admin.post(
        f"/studio/resource-groups/{world.sub}/{world.rg}/saas/{name}/delete",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert again.status_code == 404 and "There is no subscription" in " ".join(parse(again.text).alerts)


def test_a_delete_without_the_anti_forgery_token_is_refused(
    admin: TestClient, api: Api, world: World
) -> None:
    name = saas_name(api, world)
    refused = admin.post(f"/studio/resource-groups/{world.sub}/{world.rg}/saas/{name}/delete", data={})
    assert refused.status_code == 403
    assert api.get(f"{world.rg_path}/providers/{SAAS}/{name}").status_code == 200


def test_a_reader_sees_delete_disabled_with_the_missing_action(
    client: TestClient, api: Api, world: World
) -> None:
    name = saas_name(api, world)
    user_with_role(api, client, "rita@contoso.example", READER, world.rg_path)
    page = client.get(group_url(world, type=SAAS))
    found = parse(page.text)
    assert "Delete" in found.disabled
    assert found.reasons == [f"You need {SAAS_DELETE} on {name}."]
    details = parse(client.get(found.links[name]).text)
    assert "Delete" in details.disabled and details.reasons == [f"You need {SAAS_DELETE} on {name}."]
    # Posting anyway: the service refuses, the page says why in words (never a raw 403).
    refused = client.post(
        f"/studio/resource-groups/{world.sub}/{world.rg}/saas/{name}/delete",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert f"you need {SAAS_DELETE} on" in " ".join(parse(refused.text).alerts)
    assert api.get(f"{world.rg_path}/providers/{SAAS}/{name}").status_code == 200


def test_a_user_without_a_role_sees_nothing_of_the_group(client: TestClient, api: Api, world: World) -> None:
    user_with_role(api, client, "nobody@contoso.example", None)
    groups = client.get("/studio/resource-groups", params={"sub": world.sub})
    assert groups.status_code == 200 and world.rg not in parse(groups.text).links
    page = client.get(group_url(world, hidden="1"))
    assert page.status_code == 200 and rows_of(page.text) == []
    assert "No resources to show" in page.text


def test_selecting_a_resource_shows_its_details(admin: TestClient, api: Api, world: World) -> None:
    name = saas_name(api, world)
    found = parse(admin.get(group_url(world, type=SAAS)).text)
    details = admin.get(found.links[name])
    assert details.status_code == 200
    text = parse(details.text).text
    saas_id = f"{world.rg_path}/providers/{SAAS}/{name}"
    assert saas_id in text and "meta-llama-3-8b-instruct" in text and "metagenai" in text
    assert "Subscribed" in text and "Llama 3 licence" in text  # the JSON has the terms agreed to
    assert (
        "&#34;saasSubscriptionStatus&#34;" in details.text or "&quot;saasSubscriptionStatus" in details.text
    )
    endpoint = admin.get(
        f"/studio/resource-groups/{world.sub}/{world.rg}/resource",
        params={"id": world.endpoint("meta-llama3-8b-qwerty")},
    )
    assert endpoint.status_code == 200
    assert "/endpoints/eastus2/meta-llama3-8b-qwerty" in endpoint.text and "Online" in endpoint.text


@pytest.mark.parametrize(
    ("rid", "status", "words"),
    [
        ("nonsense", 400, "is not the id of a resource in a resource group"),
        ("/subscriptions/x/resourceGroups/rg1", 400, "is not the id of a resource in a resource group"),
        (
            f"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/{ML}/workspaces/nope",
            404,
            "was not found",
        ),
        ("", 400, "is not the id"),
    ],
)
def test_details_of_a_bad_id_say_why(
    admin: TestClient, world: World, rid: str, status: int, words: str
) -> None:
    answer = admin.get(f"/studio/resource-groups/{world.sub}/{world.rg}/resource", params={"id": rid})
    assert answer.status_code == status and words in " ".join(parse(answer.text).alerts)


def test_details_of_a_resource_of_another_group_are_not_found(
    admin: TestClient, api: Api, world: World
) -> None:
    api.ok(api.put(f"{world.sub_path}/resourceGroups/rg-other", {"location": "eastus2"}))
    answer = admin.get(f"/studio/resource-groups/{world.sub}/rg-other/resource", params={"id": world.ws_path})
    assert answer.status_code == 404 and "is not in the resource group rg-other" in answer.text


def test_an_unknown_type_and_odd_query_values_are_no_error(admin: TestClient, world: World) -> None:
    odd = admin.get(group_url(world, type="Microsoft.Nope/things' or 1 eq 1", after="zz", hidden="yes"))
    assert odd.status_code == 200
    assert "There is no type" in " ".join(parse(odd.text).alerts)
    missing = admin.get("/studio/resource-groups/00000000-0000-0000-0000-000000000001/no-such-group")
    assert missing.status_code == 404 and "no-such-group" in " ".join(parse(missing.text).alerts)


def test_the_group_pages_its_resources(admin: TestClient, api: Api, world: World) -> None:
    connection = {
        "properties": {"category": "Serverless", "target": "https://x.example/", "credentials": {"key": "k"}}
    }
    for n in range(55):
        api.ok(api.put(f"{world.ws_path}/connections/bulk-{n:02d}", connection), 201)
    first = admin.get(group_url(world, type=f"{ML}/workspaces/connections"))
    assert len(rows_of(first.text)) == 50
    links = parse(first.text).links
    assert "First page" not in links
    second = admin.get(links["Next"])
    assert len(rows_of(second.text)) == 6  # 55 + conn-1
    assert "Next" not in parse(second.text).links and "First page" in parse(second.text).links


def test_get_resource_checks_the_read_action_before_looking(
    client: TestClient, api: Api, world: World
) -> None:
    services = client.app.state.process.services  # type: ignore[attr-defined]
    object_id = user_with_role(api, client, "wsreader@contoso.example", READER, world.ws_path)
    reader = caller_for(services, object_id)
    assert resources.get_resource(services, reader, world.endpoint("meta-llama3-8b-qwerty")).name == (
        "meta-llama3-8b-qwerty"
    )
    with pytest.raises(AuthorizationFailed):
        resources.get_resource(services, reader, f"{world.rg_path}/providers/{SAAS}/anything")
    with pytest.raises(NotFound):
        resources.get_resource(services, reader, world.endpoint("not-there"))
    with pytest.raises(BadRequest):
        resources.get_resource(services, reader, world.sub_path)

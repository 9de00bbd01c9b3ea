"""Studio's Connections (issue 14 item 8) over HTTP, on SQLite and PostgreSQL: the chosen
workspace's connections; creating one to an endpoint of another workspace either by choosing the
endpoint (the service fills in its Target URI and key) or by typing them; deleting one; bad input
and refusals said in words; RBAC shown as disabled controls."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.controlplane.services import connections
from maas.controlplane.services.access import caller_for
from maas.core.errors import AuthorizationFailed, BadRequest
from support.api import FREE_MODEL, ML, Api, World
from support.studio import csrf_of, parse, sign_in
from support.studio_flows import READER, choose_workspace, user_with_role

WRITE = f"{ML}/workspaces/connections/write"
DELETE = f"{ML}/workspaces/connections/delete"
LIST_KEYS = f"{ML}/workspaces/serverlessEndpoints/listKeys/action"
GONE = World(ws="ws-eastus2").endpoint("gone")


@pytest.fixture
def worlds(api: Api) -> tuple[World, World]:
    """`there`: a workspace with an endpoint; `here`: the workspace that connects to it."""
    there = api.world(World(ws="ws-eastus2"))
    here = api.world(World(rg="rg-we", ws="ws-westeurope", location="westeurope"), catalog=False)
    created = api.create_endpoint(there, "phi-there", FREE_MODEL)
    assert created.status_code == 201 and api.wait_operation(created)["status"] == "Succeeded"
    return here, there


@pytest.fixture
def admin(client: TestClient, worlds: tuple[World, World]) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    choose_workspace(client, worlds[0])
    return client


def secrets(api: Api, world: World, name: str) -> dict[str, str]:
    body = api.ok(api.post(f"{world.ws_path}/connections/{name}/listsecrets"), 200)
    return {"target": body["properties"]["target"], "key": body["properties"]["credentials"]["key"]}


def post_create(client: TestClient, **fields: str) -> tuple[int, str, str]:
    """Post the create form; (status, the redirect's location or "", the page's alerts)."""
    page = client.get("/studio/connections")
    data = {"csrf_token": csrf_of(page.text), "name": "", "endpoint": "", "target": "", "key": ""} | fields
    answer = client.post("/studio/connections", data=data, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), " ".join(parse(answer.text).alerts)


def test_no_connections_says_what_to_do(admin: TestClient, worlds: tuple[World, World]) -> None:
    page = admin.get("/studio/connections")
    assert page.status_code == 200
    text = parse(page.text).text
    assert "No connections yet" in text and "Create a connection" in text
    assert 'id="conn-endpoint"' in page.text and 'for="conn-target">Target URI' in page.text
    assert 'for="conn-key">Key' in page.text and 'type="password"' in page.text


def test_choosing_an_endpoint_fills_its_target_uri_and_key(
    admin: TestClient, api: Api, worlds: tuple[World, World]
) -> None:
    here, there = worlds
    page = admin.get("/studio/connections")
    endpoint_id = there.endpoint("phi-there")
    assert f'<option value="{endpoint_id}">phi-there ({there.rg}/{there.ws}, eastus2)</option>' in page.text
    status, location, _ = post_create(admin, name="phi-from-eastus2", endpoint=endpoint_id)
    assert status == 303 and parse_qs(urlsplit(location).query) == {"created": ["phi-from-eastus2"]}
    listed = admin.get(location)
    assert "Created the connection phi-from-eastus2." in parse(listed.text).text
    uri = api.ok(api.get(endpoint_id), 200)["properties"]["inferenceEndpoint"]["uri"]
    assert f"<code>{uri}</code>" in listed.text
    keys = api.ok(api.post(endpoint_id + "/listKeys"), 200)
    assert secrets(api, here, "phi-from-eastus2") == {"target": uri, "key": keys["primaryKey"]}
    assert keys["primaryKey"] not in listed.text  # the key is never shown


def test_typing_the_target_uri_and_key(admin: TestClient, api: Api, worlds: tuple[World, World]) -> None:
    here, _ = worlds
    status, location, _ = post_create(
        admin, name="typed", target="https://models.example/endpoints/eastus2/x/", key="sekret-key"
    )
    assert status == 303
    assert secrets(api, here, "typed") == {
        "target": "https://models.example/endpoints/eastus2/x",
        "key": "sekret-key",
    }
    assert "sekret-key" not in admin.get(location).text


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({}, 400, "Enter a name for the connection."),
        ({"name": "x"}, 400, "Choose an endpoint, or type both its Target URI and its key."),
        ({"name": "x", "target": "https://a.example"}, 400, "type both its Target URI and its key"),
        (
            {"name": "x", "target": "not a url", "key": "k"},
            400,
            "The Target URI must be a full http:// or https:// URL",
        ),
        ({"name": "x", "target": "ftp://a.example/", "key": "k"}, 400, "The Target URI must be a full"),
        ({"name": "bad name!", "target": "https://a.example", "key": "k"}, 400, "bad name!"),
        ({"name": "x", "endpoint": "/subscriptions/nope"}, 400, "is not the id of a serverless endpoint"),
        (
            {"name": "x", "endpoint": "ENDPOINT", "target": "https://a.example", "key": "k"},
            400,
            "not both",
        ),
        (
            {
                "name": "x",
                "endpoint": GONE,
            },
            404,
            "gone",
        ),
    ],
)
def test_bad_input_is_said_in_words_and_kept_in_the_form(
    admin: TestClient, worlds: tuple[World, World], fields: dict[str, str], status: int, words: str
) -> None:
    fields = {k: (worlds[1].endpoint("phi-there") if v == "ENDPOINT" else v) for k, v in fields.items()}
    answer_status, _, alerts = post_create(admin, **fields)
    assert answer_status == status and words in alerts, alerts


def test_the_form_keeps_what_was_typed_but_never_the_key(
    admin: TestClient, worlds: tuple[World, World]
) -> None:
    page = admin.get("/studio/connections")
    answer = admin.post(
        "/studio/connections",
        data={"csrf_token": csrf_of(page.text), "name": "kept", "target": "nope", "key": "secret-typed"},
    )
    assert answer.status_code == 400
    assert (
        'value="kept"' in answer.text and 'value="nope"' in answer.text and "secret-typed" not in answer.text
    )


def test_an_existing_name_is_not_overwritten(
    admin: TestClient, api: Api, worlds: tuple[World, World]
) -> None:
    here, _ = worlds
    post_create(admin, name="once", target="https://a.example", key="first")
    status, _, alerts = post_create(admin, name="once", target="https://b.example", key="second")
    assert status == 400 and "A connection named once already exists" in alerts
    assert secrets(api, here, "once") == {"target": "https://a.example", "key": "first"}


def test_deleting_a_connection(admin: TestClient, api: Api, worlds: tuple[World, World]) -> None:
    here, _ = worlds
    post_create(admin, name="to-delete", target="https://a.example", key="k")
    page = admin.get("/studio/connections")
    found = parse(page.text)
    assert {"action": "/studio/connections/to-delete/delete", "method": "post"} in found.forms
    assert 'data-confirm="Delete the connection to-delete?' in page.text
    answer = admin.post(
        "/studio/connections/to-delete/delete",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/studio/connections?deleted=to-delete"
    assert api.get(f"{here.ws_path}/connections/to-delete").status_code == 404
    assert "Deleted the connection to-delete." in parse(admin.get(answer.headers["location"]).text).text
    again = admin.post("/studio/connections/to-delete/delete", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 404 and "There is no connection to-delete" in " ".join(
        parse(again.text).alerts
    )
    forged = admin.post("/studio/connections/to-delete/delete", data={})
    assert forged.status_code == 403


def test_a_reader_sees_create_and_delete_disabled_with_the_missing_action(
    client: TestClient, api: Api, worlds: tuple[World, World]
) -> None:
    here, _ = worlds
    body = {
        "properties": {"category": "Serverless", "target": "https://a.example/", "credentials": {"key": "k"}}
    }
    api.ok(api.put(f"{here.ws_path}/connections/existing", body), 201)
    user_with_role(api, client, "rita@contoso.example", READER, here.ws_path)
    choose_workspace(client, here)
    page = client.get("/studio/connections")
    found = parse(page.text)
    assert set(found.disabled) == {"Delete", "Create connection"}
    assert found.reasons == [
        f"You need {DELETE} on existing.",
        f"You need {WRITE} on the workspace {here.ws}.",
    ]
    refused = client.post("/studio/connections/existing/delete", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403 and f"you need {DELETE} on" in " ".join(parse(refused.text).alerts)
    status, _, alerts = post_create(client, name="mine", target="https://a.example", key="k")
    assert status == 403 and f"you need {WRITE} on" in alerts


def test_an_endpoint_whose_keys_the_user_cannot_list_is_not_offered(
    client: TestClient, api: Api, worlds: tuple[World, World]
) -> None:
    here, there = worlds
    contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
    object_id = user_with_role(api, client, "carl@contoso.example", contributor, here.ws_path)
    api.ok(api.assign(there.ws_path, object_id, READER), 201)
    choose_workspace(client, here)
    page = client.get("/studio/connections")
    assert f"phi-there ({there.rg}/{there.ws}, eastus2): you need {LIST_KEYS}" in page.text
    assert f'value="{there.endpoint("phi-there")}" disabled' in page.text
    status, _, alerts = post_create(client, name="sneaky", endpoint=there.endpoint("phi-there"))
    assert status == 403 and LIST_KEYS in alerts


def test_without_a_workspace_connections_asks_for_one(
    client: TestClient, worlds: tuple[World, World]
) -> None:
    sign_in(client, "admin", ADMIN_TOKEN)
    answer = client.get("/studio/connections", follow_redirects=False)
    assert (
        answer.status_code == 302
        and answer.headers["location"] == "/studio/workspace?next=/studio/connections"
    )


def test_connect_endpoint_checks_read_and_list_keys(
    client: TestClient, api: Api, worlds: tuple[World, World]
) -> None:
    here, there = worlds
    services = client.app.state.process.services  # type: ignore[attr-defined]
    contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
    object_id = user_with_role(api, client, "dora@contoso.example", contributor, here.ws_path)
    caller = caller_for(services, object_id)
    args = (here.sub, here.rg, here.ws, "c1")
    with pytest.raises(AuthorizationFailed):  # cannot read the endpoint
        connections.connect_endpoint(services, caller, *args, there.endpoint("phi-there"))
    api.ok(api.assign(there.ws_path, object_id, contributor), 201)
    caller = caller_for(services, object_id)
    saved = connections.connect_endpoint(services, caller, *args, there.endpoint("phi-there"))
    assert saved.created and saved.resource.properties["target"].endswith("/endpoints/eastus2/phi-there")
    with pytest.raises(BadRequest):
        connections.connect_endpoint(services, caller, *args, there.ws_path)

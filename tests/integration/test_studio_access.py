"""Studio's Access control (IAM), Activity log and Operator pages, server-side, on SQLite and
PostgreSQL: each page and action as the signed-in caller, RBAC (a Reader sees Add disabled
with the reason; a non-Owner gets no operator pages), and bad input answered in words."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from support.api import Api, World
from support.studio import csrf_of, follow, parse, sign_in

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USERS = "/providers/Microsoft.MaaS/users"
RA_WRITE = "Microsoft.Authorization/roleAssignments/write"


def _user(api: Api, upn: str, password: str = "correct-horse-1", name: str | None = None) -> str:
    body = {"properties": {"displayName": name or upn.title(), "passwordProfile": {"password": password}}}
    return str(api.ok(api.put(f"{USERS}/{upn}", body))["properties"]["principalId"])


def _browser(client: TestClient) -> TestClient:
    """Another browser on the same server (its own cookie jar)."""
    return TestClient(client.app, raise_server_exceptions=False)


def _choose_workspace(browser: TestClient, world: World) -> None:
    page = browser.get("/studio/workspace")
    answer = browser.post(
        "/studio/workspace",
        data={
            "sub": world.sub,
            "rg": world.rg,
            "name": world.ws,
            "next": "/studio",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def _post(browser: TestClient, page_url: str, action: str, data: dict[str, Any]) -> httpx.Response:
    token = csrf_of(browser.get(page_url).text)
    return browser.post(action, data=data | {"csrf_token": token}, follow_redirects=False)


@pytest.fixture
def world(api: Api) -> World:
    return api.world()


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    _choose_workspace(client, world)
    return client


def _access(browser: TestClient, scope: str, **extra: str) -> httpx.Response:
    return browser.get(f"/studio/access?{urlencode({'scope': scope, **extra})}")


# -- Access control ------------------------------------------------------------------------------
def test_the_scope_picker_defaults_to_the_workspace_and_shows_inherited_assignments(
    admin: TestClient, world: World
) -> None:
    page = admin.get("/studio/access")
    assert page.status_code == 200, page.text
    seen = parse(page.text)
    assert f'<option value="{world.ws_path}" selected>' in page.text
    assert "Owner" in seen.text and "Inherited" in seen.text and "Administrator" in seen.text
    assert "Add role assignment" in seen.links  # the Owner may assign
    assert "Activity log" in seen.links and "Operator" in seen.links  # the nav


def test_add_a_role_assignment_check_access_and_remove_it(api: Api, admin: TestClient, world: World) -> None:
    alice = _user(api, "alice", name="Alice Liddell")
    scope = world.ws_path
    found = admin.get(f"/studio/access/add?{urlencode({'scope': scope, 'q': 'lidd'})}")
    assert found.status_code == 200 and "Alice Liddell" in found.text and f'value="{alice}"' in found.text

    role_id = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    url = f"/studio/access/add?scope={scope}"
    added = _post(admin, url, "/studio/access/add", {"scope": scope, "role": role_id, "principal": alice})
    assert added.status_code == 303, added.text
    landed = admin.get(added.headers["location"])
    seen = parse(landed.text)
    assert "Added a role assignment for Alice Liddell at workspace ws1." in landed.text
    row = next(line for line in landed.text.split("<tr>") if "<td>Alice Liddell" in line)
    assert "Reader" in row and "This resource" in row and "Remove" in row
    assert not seen.alerts

    check = _access(admin, scope, tab="check", principal="alice")
    assert check.status_code == 200 and "Reader" in check.text and "*/read" in check.text
    allowed = _access(
        admin,
        scope,
        tab="check",
        principal="alice",
        action="Microsoft.MachineLearningServices/workspaces/read",
    )
    assert "Allowed: Microsoft.MachineLearningServices/workspaces/read" in allowed.text
    assert (
        "granted by\n    Reader at <code>" + scope in allowed.text
        or "Reader at <code>" + scope in allowed.text
    )
    denied = _access(admin, scope, tab="check", principal="alice", action=RA_WRITE)
    assert "Denied: no role Alice Liddell holds" in denied.text

    name = api.ok(api.get(f"{scope}/providers/Microsoft.Authorization/roleAssignments"))["value"]
    name = next(a["name"] for a in name if a["properties"]["principalId"] == alice)
    removed = _post(
        admin, f"/studio/access?scope={scope}", "/studio/access/remove", {"scope": scope, "name": name}
    )
    assert removed.status_code == 303
    after = admin.get(removed.headers["location"])
    assert "Removed the role assignment." in after.text and "<td>Alice Liddell" not in after.text

    # the activity log shows both, filtered by operation; a status filter that matches none is empty
    log = admin.get(f"/studio/activity?{urlencode({'operation': 'Microsoft.Authorization/roleAssignments'})}")
    assert log.status_code == 200
    assert (
        f"{RA_WRITE}</code>" in log.text
        and "Microsoft.Authorization/roleAssignments/delete</code>" in log.text
    )
    assert "Microsoft.MachineLearningServices/workspaces/write</code>" not in log.text
    by_caller = admin.get(f"/studio/activity?{urlencode({'caller': 'nobody', 'range': '7d'})}")
    assert "No events" in by_caller.text
    failed = admin.get(
        f"/studio/activity?{urlencode({'status': 'Failed', 'operation': 'Microsoft.Authorization'})}"
    )
    assert RA_WRITE not in failed.text


def test_adding_with_bad_input_answers_in_words(api: Api, admin: TestClient, world: World) -> None:
    scope = world.ws_path
    url = f"/studio/access/add?scope={scope}"
    role_id = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    unknown = _post(
        admin, url, "/studio/access/add", {"scope": scope, "role": role_id, "principal": "nobody"}
    )
    assert unknown.status_code == 400
    assert "There is no user or service principal 'nobody' in the directory" in parse(unknown.text).alerts[0]

    missing = _post(admin, url, "/studio/access/add", {"scope": scope, "role": "", "principal": ""})
    assert missing.status_code == 400 and "Choose a role." in parse(missing.text).alerts[0]

    # a custom role assignable only in another resource group is not assignable here
    api.ok(api.put(f"{world.sub_path}/resourceGroups/rg-other", {"location": "eastus2"}))
    role = {
        "Name": "Other group reader",
        "Actions": ["*/read"],
        "AssignableScopes": [f"{world.sub_path}/resourceGroups/rg-other"],
    }
    made = _post(
        admin,
        "/studio/access/roles/new",
        "/studio/access/roles",
        {"scope": scope, "mode": "json", "json": json.dumps(role)},
    )
    assert made.status_code == 303, made.text
    guid = api.ok(
        api.get(f"{world.sub_path}/resourceGroups/rg-other/providers/Microsoft.Authorization/roleDefinitions")
    )
    guid = next(r["name"] for r in guid["value"] if r["properties"]["roleName"] == "Other group reader")
    bob = _user(api, "bob")
    elsewhere = _post(
        admin,
        url,
        "/studio/access/add",
        {
            "scope": scope,
            "role": f"/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            "principal": bob,
        },
    )
    assert elsewhere.status_code == 400
    assert "can be assigned only within" in parse(elsewhere.text).alerts[0]
    # and the add page does not offer it
    assert "Other group reader" not in admin.get(url).text


def test_a_reader_sees_add_disabled_with_the_reason_and_no_operator_pages(
    api: Api, client: TestClient, world: World
) -> None:
    carol = _user(api, "carol", "carol-password-1")
    _user(api, "alice", name="Alice Liddell")
    api.ok(api.assign(world.ws_path, carol, READER))
    browser = _browser(client)
    sign_in(browser, "carol", "carol-password-1")
    _choose_workspace(browser, world)
    page = _access(browser, world.ws_path)
    assert page.status_code == 200, page.text
    seen = parse(page.text)
    assert "Add role assignment" in seen.disabled
    assert f"You need {RA_WRITE} on workspace {world.ws}." in seen.reasons
    assert "Operator" not in seen.links
    removes = [d for d in seen.disabled if d == "Remove"]
    assert removes  # the reader's own (inherited none; here) assignment cannot be removed by them

    denied = _post(
        browser,
        "/studio/access?scope=" + world.ws_path,
        "/studio/access/add",
        {"scope": world.ws_path, "role": READER, "principal": "carol"},
    )
    assert denied.status_code == 403
    assert "You don't have permission to do this: you need " + RA_WRITE in parse(denied.text).alerts[0]

    search = browser.get(f"/studio/access/add?{urlencode({'scope': world.ws_path, 'q': 'ali'})}")
    assert search.status_code == 403 and "alice" not in search.text.lower()
    assert "you need " + RA_WRITE in parse(search.text).alerts[0]

    for url in (
        "/studio/operator",
        "/studio/operator/pools",
        "/studio/operator/principals",
        "/studio/operator/models/new",
        "/studio/operator/offers/new",
    ):
        refused = browser.get(url)
        assert refused.status_code == 403, url
        assert "Microsoft.Authorization/roleAssignments/write on /" in refused.text
    posted = _post(
        browser,
        "/studio",
        "/studio/operator/users",
        {"upn": "x", "display_name": "x", "password": "12345678"},
    )
    assert posted.status_code == 403
    # at a scope the reader cannot read: the page says so in words, no raw 403
    other = _access(browser, world.sub_path)
    assert other.status_code == 403 and "You don't have permission" in parse(other.text).alerts[0]


def test_custom_roles_from_a_form_and_from_json_and_delete_refused_while_assigned(
    api: Api, admin: TestClient, world: World
) -> None:
    scope = world.ws_path
    bad = _post(
        admin,
        "/studio/access/roles/new",
        "/studio/access/roles",
        {"scope": scope, "mode": "json", "json": "{not json"},
    )
    assert bad.status_code == 400 and "The role definition is not valid JSON" in parse(bad.text).alerts[0]
    no_scopes = _post(
        admin,
        "/studio/access/roles/new",
        "/studio/access/roles",
        {"scope": scope, "mode": "json", "json": json.dumps({"Name": "X", "Actions": ["*/read"]})},
    )
    assert no_scopes.status_code == 400 and "AssignableScopes" in parse(no_scopes.text).alerts[0]
    bad_action = _post(
        admin,
        "/studio/access/roles/new",
        "/studio/access/roles",
        {"scope": scope, "mode": "form", "name": "Spaces", "actions": "not an action", "scopes": scope},
    )
    assert bad_action.status_code == 400 and "is not an action" in parse(bad_action.text).alerts[0]

    form = {
        "scope": scope,
        "mode": "form",
        "name": "Endpoint reader",
        "description": "Reads endpoints",
        "actions": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read",
        "scopes": scope,
    }
    made = _post(admin, "/studio/access/roles/new", "/studio/access/roles", form)
    assert made.status_code == 303, made.text
    listing = admin.get(made.headers["location"])
    assert "Saved the custom role Endpoint reader." in listing.text and "Custom" in listing.text
    guid = next(
        r["name"]
        for r in api.ok(api.get(f"{scope}/providers/Microsoft.Authorization/roleDefinitions"))["value"]
        if r["properties"]["roleName"] == "Endpoint reader"
    )
    shown = admin.get(f"/studio/access/roles/{guid}?scope={scope}")
    assert shown.status_code == 200 and "serverlessEndpoints/read" in shown.text

    # update from pasted JSON (the same file `maas role definition create` takes)
    as_file = {
        "Id": guid,
        "Name": "Endpoint reader",
        "IsCustom": True,
        "Description": "Reads endpoints and keys",
        "Actions": ["Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/*/read"],
        "AssignableScopes": [scope],
    }
    updated = _post(
        admin,
        "/studio/access/roles/new",
        "/studio/access/roles",
        {"scope": scope, "mode": "json", "json": json.dumps(as_file)},
    )
    assert updated.status_code == 303
    body = api.ok(api.get(f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}"))
    assert body["properties"]["description"] == "Reads endpoints and keys"

    dave = _user(api, "dave")
    role_id = f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    assert (
        _post(
            admin,
            "/studio/access/add?scope=" + scope,
            "/studio/access/add",
            {"scope": scope, "role": role_id, "principal": "dave"},
        ).status_code
        == 303
    )
    refused = _post(
        admin,
        f"/studio/access?scope={scope}&tab=roles",
        f"/studio/access/roles/{guid}/delete",
        {"scope": scope},
    )
    assert refused.status_code == 409
    assert (
        "There are existing role assignments referencing role 'Endpoint reader'" in parse(refused.text).text
    )
    for assignment in api.ok(api.get(f"{scope}/providers/Microsoft.Authorization/roleAssignments"))["value"]:
        if assignment["properties"]["principalId"] == dave:
            api.ok(
                api.delete(f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment['name']}"),
                200,
                204,
            )
    deleted = _post(
        admin,
        f"/studio/access?scope={scope}&tab=roles",
        f"/studio/access/roles/{guid}/delete",
        {"scope": scope},
    )
    assert deleted.status_code == 303
    assert "Deleted the custom role Endpoint reader." in admin.get(deleted.headers["location"]).text


def test_check_access_with_bad_input_answers_in_words(admin: TestClient, world: World) -> None:
    unknown = _access(admin, world.ws_path, tab="check", principal="nobody")
    assert (
        unknown.status_code == 400
        and "no user or service principal 'nobody'" in parse(unknown.text).alerts[0]
    )
    bad = _access(admin, world.ws_path, tab="check", principal="admin", action="not an action")
    assert bad.status_code == 400 and "is not an action" in parse(bad.text).alerts[0]
    missing_scope = _access(admin, f"{world.sub_path}/resourceGroups/nope")
    assert missing_scope.status_code == 404 and "does not exist" in parse(missing_scope.text).alerts[0]


def test_activity_log_pages_and_refuses_a_caller_without_access(
    api: Api, admin: TestClient, world: World
) -> None:
    for i in range(55):
        api.ok(api.put(f"{world.sub_path}/resourceGroups/rg-{i}", {"location": "eastus2"}))
    first = admin.get("/studio/activity?operation=Microsoft.Resources")
    assert first.status_code == 200
    seen = parse(first.text)
    assert "Older events" in seen.links
    older = admin.get(seen.links["Older events"])
    assert older.status_code == 200 and "rg-0</code>" in older.text and "Newest" in parse(older.text).links
    by_group = admin.get("/studio/activity?rg=rg-3")
    assert "resourceGroups/rg-3</code>" in by_group.text and "resourceGroups/rg-4</code>" not in by_group.text


# -- Operator ------------------------------------------------------------------------------------
def test_operator_creates_a_user_disables_it_and_deletes_it(api: Api, admin: TestClient) -> None:
    page = admin.get("/studio/operator/principals")
    assert page.status_code == 200 and "admin" in page.text
    short = _post(
        admin,
        "/studio/operator/principals",
        "/studio/operator/users",
        {"upn": "erin", "display_name": "Erin", "password": "short"},
    )
    assert short.status_code == 400 and "at least 8 characters" in parse(short.text).alerts[0]
    made = _post(
        admin,
        "/studio/operator/principals",
        "/studio/operator/users",
        {"upn": "erin", "display_name": "Erin", "password": "erin-password-1"},
    )
    assert made.status_code == 303
    assert "Created the user erin." in admin.get(made.headers["location"]).text
    again = _post(
        admin,
        "/studio/operator/principals",
        "/studio/operator/users",
        {"upn": "erin", "display_name": "Erin", "password": "erin-password-1"},
    )
    assert again.status_code == 400 and "already exists" in parse(again.text).alerts[0]

    disabled = _post(
        admin, "/studio/operator/principals", "/studio/operator/users/erin/enabled", {"enabled": "false"}
    )
    assert disabled.status_code == 303
    assert api.ok(api.get(f"{USERS}/erin"))["properties"]["accountEnabled"] is False
    erin = _browser(admin)
    start = follow(erin, "/studio")[0]
    assert start.status_code == 200  # the sign-in page; a disabled user cannot sign in
    enabled = _post(
        admin, "/studio/operator/principals", "/studio/operator/users/erin/enabled", {"enabled": "true"}
    )
    assert (
        enabled.status_code == 303
        and api.ok(api.get(f"{USERS}/erin"))["properties"]["accountEnabled"] is True
    )
    self_disable = _post(
        admin, "/studio/operator/principals", "/studio/operator/users/admin/enabled", {"enabled": "false"}
    )
    assert self_disable.status_code == 400 and "cannot disable itself" in parse(self_disable.text).alerts[0]
    gone = _post(admin, "/studio/operator/principals", "/studio/operator/users/erin/delete", {})
    assert gone.status_code == 303 and api.get(f"{USERS}/erin").status_code == 404


def test_operator_creates_a_service_principal_and_shows_its_secret_once(admin: TestClient) -> None:
    made = _post(
        admin,
        "/studio/operator/principals",
        "/studio/operator/service-principals",
        {"sp_display_name": "ci-bot"},
    )
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    assert "shown only this once" in made.text
    secret = made.text.split('id="sp-secret">')[1].split("<")[0]
    app_id = made.text.split('id="sp-app-id">')[1].split("<")[0]
    assert len(secret) > 20
    listing = admin.get("/studio/operator/principals")
    assert app_id in listing.text and secret not in listing.text
    # the secret works: the token endpoint grants a token for it
    tenant = made.text.split('id="sp-tenant">')[1].split("<")[0]
    token = admin.post(
        f"/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": secret,
            "scope": "https://management.azure.com/.default",
        },
    )
    assert token.status_code == 200, token.text
    empty = _post(
        admin, "/studio/operator/principals", "/studio/operator/service-principals", {"sp_display_name": ""}
    )
    assert empty.status_code == 400 and "needs a display name" in parse(empty.text).alerts[0]


def test_operator_catalog_lists_exact_prices_and_adds_models_and_offers(
    api: Api, admin: TestClient, tmp_path: Any
) -> None:
    page = admin.get("/studio/operator")
    assert page.status_code == 200
    assert "paygo-inference-input-tokens: $0.0003 per 1K tokens" in page.text
    assert "paygo-inference-output-tokens: $0.0006 per 1K tokens" in page.text

    bad = _post(
        admin,
        "/studio/operator/models/new",
        "/studio/operator/models",
        {
            "model_id": "azureml://registries/ops/models/tiny/versions/1",
            "source": "huggingface",
            "location": str(tmp_path / "missing"),
        },
    )
    assert (
        bad.status_code == 400
        and "is not a Hugging Face model folder (no config.json)" in parse(bad.text).alerts[0]
    )
    no_version = _post(
        admin,
        "/studio/operator/models/new",
        "/studio/operator/models",
        {"model_id": "azureml://registries/ops/models/tiny", "source": "gguf", "location": "/x"},
    )
    assert no_version.status_code == 400 and "with its version" in parse(no_version.text).alerts[0]
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"NOPE")
    gguf = _post(
        admin,
        "/studio/operator/models/new",
        "/studio/operator/models",
        {
            "model_id": "azureml://registries/ops/models/tiny/versions/1",
            "source": "gguf",
            "location": str(not_gguf),
        },
    )
    assert gguf.status_code == 400 and "is not a GGUF file" in parse(gguf.text).alerts[0]
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    added = _post(
        admin,
        "/studio/operator/models/new",
        "/studio/operator/models",
        {
            "model_id": "azureml://registries/ops/models/tiny/versions/1",
            "source": "huggingface",
            "location": str(folder),
            "task": "chat-completion",
            "description": "A tiny model",
        },
    )
    assert added.status_code == 303, added.text
    assert api.get("/registries/ops/models/tiny/versions/1").status_code == 200

    upstream = _post(
        admin,
        "/studio/operator/models/new",
        "/studio/operator/models",
        {
            "model_id": "azureml://registries/ops/models/relay/versions/2",
            "source": "openai-upstream",
            "location": "http://127.0.0.1:9/v1",
            "upstream_model": "gpt",
            "api_key": "sk-x",
        },
    )
    assert upstream.status_code == 303, upstream.text
    stored = api.ok(api.get("/registries/ops/models/relay/versions/2"))["properties"]["artifact"]
    assert stored["hasApiKey"] is True and "sk-x" not in json.dumps(stored)

    bad_price = _post(
        admin,
        "/studio/operator/offers/new",
        "/studio/operator/offers",
        {
            "name": "tiny",
            "model_id": "azureml://registries/ops/models/tiny",
            "publisher": "ops",
            "input_price": "cheap",
        },
    )
    assert bad_price.status_code == 400 and "'cheap' is not a number" in parse(bad_price.text).alerts[0]
    offer = _post(
        admin,
        "/studio/operator/offers/new",
        "/studio/operator/offers",
        {
            "name": "tiny",
            "model_id": "azureml://registries/ops/models/tiny",
            "publisher": "ops",
            "kind": "FirstParty",
            "input_price": "0.00002",
            "output_price": "0.00004",
            "regions": "eastus2, westus3",
            "terms": "Be nice",
        },
    )
    assert offer.status_code == 303, offer.text
    listing = admin.get(offer.headers["location"])
    assert "Saved the offer tiny." in listing.text and "$0.00002 per 1K tokens" in listing.text
    assert "eastus2, westus3" in listing.text
    body = api.ok(api.get("/providers/Microsoft.MaaS/offers/tiny"))["properties"]
    assert body["kind"] == "FirstParty" and body["terms"] == "Be nice"
    assert [m["pricePer1K"] for m in body["meters"]] == [0.00002, 0.00004]


def test_operator_pools_page(admin: TestClient) -> None:
    page = admin.get("/studio/operator/pools")
    assert page.status_code == 200
    assert "No pools yet" in page.text or "No pools in this process" in page.text or "<table>" in page.text


def test_forms_without_the_anti_forgery_token_are_refused(admin: TestClient, world: World) -> None:
    for action in (
        "/studio/access/add",
        "/studio/access/remove",
        "/studio/access/roles",
        "/studio/operator/users",
    ):
        refused = admin.post(action, data={"scope": world.ws_path}, follow_redirects=False)
        assert refused.status_code == 403, action


def test_signed_out_every_access_page_leads_to_sign_in(client: TestClient) -> None:
    for url in ("/studio/access", "/studio/activity", "/studio/operator", "/studio/access/roles/x"):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code in (302, 303), url
        assert urlsplit(answer.headers["location"]).path == "/studio/signin"
        assert parse_qs(urlsplit(answer.headers["location"]).query)["next"] == [url]

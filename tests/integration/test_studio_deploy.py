"""Studio's deploy wizard (issue 14 item 4), through HTTP as a browser without JavaScript: a
model's Details → Deploy → Serverless API → the purchase-policy checkbox (refused in words when
not ticked) → Subscribe and Deploy → the deployment name (prefilled, checked as typed: the name
rule, "already used in this region") → Deploy → progress until Succeeded → the endpoint's page;
the note for an existing subscription; first-party offers without the subscribe step; each error
the API gives in words; a Reader's disabled controls; bad input never a 500."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from maas.web.routes.deploy import ACKNOWLEDGE, NOT_TICKED
from support.api import FREE_MODEL, MODEL, Api, World
from support.studio import csrf_of, parse, sign_in

USERS = "/providers/Microsoft.MaaS/users"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PASSWORD = "correct horse battery"
DEPLOY_ACTION = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/write"
SUBSCRIBE_ACTION = "Microsoft.MachineLearningServices/workspaces/marketplaceModelSubscriptions/write"
LLAMA = "/studio/catalog/azureml-meta/Meta-Llama-3-8B-Instruct"
WIZARD = "/studio/deploy?" + urlencode({"model": MODEL})
NAME_STEP = "/studio/deploy/name?" + urlencode({"model": MODEL})
SUGGESTED = re.compile(r'id="deployment-name" name="name" type="text" value="([^"]+)"')


@pytest.fixture
def world(api: Api) -> World:
    return api.world(catalog=True)


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    choose(client, world)
    return client


def choose(client: TestClient, world: World, next_path: str = "/studio") -> None:
    picker = client.get(f"/studio/workspace?sub={world.sub}&rg={world.rg}")
    data = {"csrf_token": csrf_of(picker.text), "sub": world.sub, "rg": world.rg, "name": world.ws}
    answer = client.post("/studio/workspace", data=data | {"next": next_path}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def reader(api: Api, client: TestClient, world: World) -> None:
    upn = "rita@contoso.example"
    body = {"properties": {"displayName": "Rita", "passwordProfile": {"password": PASSWORD}}}
    object_id = api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"]
    api.ok(api.assign("", object_id, READER), 201)
    client.cookies.clear()
    sign_in(client, upn, PASSWORD)
    choose(client, world)


def subscribe(client: TestClient, model: str = MODEL, ticked: bool = True) -> httpx.Response:
    page = client.get("/studio/deploy?" + urlencode({"model": model}))
    data = {"csrf_token": csrf_of(page.text), "model": model} | ({"acknowledge": "on"} if ticked else {})
    return client.post("/studio/deploy/subscribe", data=data, follow_redirects=False)


def deploy(client: TestClient, name: str, model: str = MODEL) -> httpx.Response:
    page = client.get("/studio/catalog")
    data = {"csrf_token": csrf_of(page.text), "model": model, "name": name}
    return client.post("/studio/deploy/create", data=data, follow_redirects=False)


def alerts(html: str) -> str:
    return " ".join(parse(html).alerts)


def test_details_deploy_serverless_api_opens_the_wizard_with_terms_and_the_checkbox(
    admin: TestClient, api: Api, world: World
) -> None:
    details = parse(admin.get(LLAMA).text)
    assert details.links["Serverless API"] == WIZARD

    page = admin.get(WIZARD)
    assert page.status_code == 200
    found = parse(page.text)
    assert found.links["Azure Marketplace Terms"] == "/studio/deploy/terms?" + urlencode({"model": MODEL})
    assert found.links["Pricing and terms"] == f"{LLAMA}?tab=pricing"
    assert '<input type="checkbox" id="acknowledge" name="acknowledge"' in page.text
    assert f'<label for="acknowledge">{ACKNOWLEDGE}</label>' in page.text
    # Enabled in the HTML (the server refuses an unticked form); app.js disables it until ticked.
    assert 'data-needs-check="acknowledge">Subscribe and Deploy</button>' in page.text
    assert "Subscribe and Deploy" not in found.disabled
    assert {"action": "/studio/deploy/subscribe", "method": "post"} in found.forms
    assert "$0.0003" in found.text and "$0.0006" in found.text  # the price, exact
    assert "You already have" not in found.text

    terms = admin.get(found.links["Azure Marketplace Terms"])
    assert terms.status_code == 200 and "Llama 3 licence" in parse(terms.text).text


def test_subscribe_and_deploy_is_refused_in_words_until_the_box_is_ticked(
    admin: TestClient, api: Api, world: World
) -> None:
    refused = subscribe(admin, ticked=False)
    assert refused.status_code == 400
    assert NOT_TICKED in alerts(refused.text)
    assert api.get(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 404
    listed = api.ok(api.get(f"{world.ws_path}/marketplaceSubscriptions"), 200)
    assert listed["value"] == []

    done = subscribe(admin)
    assert done.status_code == 303
    assert done.headers["location"] == NAME_STEP
    created = api.ok(api.get(world.subscription("Meta-Llama-3-8B-Instruct")), 200)
    assert created["properties"]["marketplaceSubscriptionStatus"] == "Subscribed"
    saas = api.ok(api.get(f"{world.rg_path}/resources"), 200)["value"]
    assert [r["type"] for r in saas if r["type"] == "Microsoft.SaaS/resources"]  # as the API's create


def test_an_existing_subscription_shows_the_note_and_continue_to_deploy(
    admin: TestClient, api: Api, world: World
) -> None:
    api.ok(api.subscribe(world, name="llama-sub"), 201)
    page = admin.get(WIZARD)
    found = parse(page.text)
    assert "You already have an Azure Marketplace subscription for this workspace" in found.text
    assert "llama-sub" in found.text
    assert found.links["Continue to deploy"] == NAME_STEP
    assert "Subscribe and Deploy" not in page.text and 'id="acknowledge"' not in page.text


def test_the_name_step_prefills_the_model_name_with_a_suffix_and_checks_it_as_typed(
    admin: TestClient, api: Api, world: World
) -> None:
    # Without a subscription the name step sends back to the subscribe step.
    back = admin.get(NAME_STEP, follow_redirects=False)
    assert back.status_code == 302 and back.headers["location"] == WIZARD
    assert subscribe(admin).status_code == 303

    page = admin.get(NAME_STEP)
    assert page.status_code == 200
    suggested = SUGGESTED.search(page.text)
    assert suggested is not None and re.fullmatch(r"Meta-Llama-3-8B-Instruct-[a-z]{4}", suggested[1])
    assert 'hx-get="/studio/deploy/check-name"' in page.text and "delay:400ms" in page.text
    assert f"&#39;{suggested[1]}&#39; is available in eastus2." in page.text

    def check(name: str) -> str:
        answer = admin.get("/studio/deploy/check-name", params={"name": name})
        assert answer.status_code == 200 and answer.text.startswith('<p id="name-check"')
        return parse(answer.text).text

    assert check("good-name") == "'good-name' is available in eastus2."
    assert "it must start with a letter and contain only letters, digits and '-'" in check("9bad")
    assert "1 to 52 characters" in check("a" * 53)
    assert check("") == "Enter a name for the deployment."
    hostile = admin.get("/studio/deploy/check-name", params={"name": "<b>x</b>"})
    assert "<b>" not in hostile.text and "&#39;&lt;b&gt;x&lt;/b&gt;&#39; is invalid" in hostile.text

    # A name used in the same region by another workspace (in another resource group) is taken.
    other = api.world(World(rg="rg-other", ws="ws-other"), catalog=False)
    api.ok(api.create_endpoint(other, "taken-name", FREE_MODEL), 201)
    assert "already used in this region (eastus2)" in check("taken-name")
    assert "already used in this region" in check("TAKEN-NAME")  # names compare case-blind

    refused = deploy(admin, "taken-name")
    assert refused.status_code == 409
    assert "already used in this region (eastus2)" in alerts(refused.text)
    assert 'value="taken-name"' in refused.text  # kept to edit
    bad = deploy(admin, "-bad")
    assert bad.status_code == 400 and "serverless endpoint name '-bad' is invalid" in alerts(bad.text)
    empty = deploy(admin, "")
    assert empty.status_code == 400 and "Enter a name" in alerts(empty.text)


def test_deploy_creates_the_endpoint_and_lands_on_its_page(admin: TestClient, api: Api, world: World) -> None:
    assert subscribe(admin).status_code == 303
    created = deploy(admin, "llama-wizard")
    assert created.status_code == 303
    assert created.headers["location"] == "/studio/deploy/progress/llama-wizard"
    endpoint = api.ok(api.get(world.endpoint("llama-wizard")), 200)
    assert endpoint["properties"]["modelSettings"]["modelId"] == MODEL
    assert endpoint["properties"]["marketplaceSubscriptionId"].endswith("/Meta-Llama-3-8B-Instruct")

    def settled() -> bool:
        return (
            api.ok(api.get(world.endpoint("llama-wizard")), 200)["properties"]["provisioningState"]
            == "Succeeded"
        )

    for _ in range(500):
        if settled():
            break
        time.sleep(0.02)
    done = admin.get("/studio/deploy/progress/llama-wizard", follow_redirects=False)
    assert done.status_code == 302 and done.headers["location"] == "/studio/endpoints/llama-wizard"

    # A second deployment of the same model in this workspace: the API's words.
    again = deploy(admin, "llama-again")
    assert again.status_code == 409
    text = alerts(again.text)
    assert "already has a serverless endpoint for" in text and "llama-wizard" in text


@pytest.fixture
def manual(settings: Settings) -> Iterator[tuple[TestClient, Api]]:
    """An app whose reconciler runs only when the test says so, to see the progress page."""
    prepare(settings)
    with TestClient(create_server_app(settings, reconcile=False), raise_server_exceptions=False) as client:
        yield client, Api(client, ADMIN_TOKEN)


def test_the_progress_page_updates_by_itself_until_succeeded(manual: tuple[TestClient, Api]) -> None:
    client, api = manual
    world = api.world(catalog=True)
    sign_in(client, "admin", ADMIN_TOKEN)
    choose(client, world)
    page = client.get("/studio/deploy?" + urlencode({"model": FREE_MODEL}), follow_redirects=False)
    assert page.status_code == 302  # first-party: no subscribe step
    assert page.headers["location"] == "/studio/deploy/name?" + urlencode({"model": FREE_MODEL})
    assert deploy(client, "phi-progress", FREE_MODEL).status_code == 303

    progress = client.get("/studio/deploy/progress/phi-progress")
    assert progress.status_code == 200
    assert "State: Creating" in parse(progress.text).text
    assert 'hx-get="/studio/deploy/progress/phi-progress" hx-trigger="every 1s"' in progress.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in progress.text
    polled = client.get("/studio/deploy/progress/phi-progress", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and polled.text.lstrip().startswith('<div id="progress"')
    assert "<html" not in polled.text

    assert client.app.state.process.reconciler.run_once() >= 1
    polled = client.get("/studio/deploy/progress/phi-progress", headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"] == "/studio/endpoints/phi-progress"
    plain = client.get("/studio/deploy/progress/phi-progress", follow_redirects=False)
    assert plain.status_code == 302 and plain.headers["location"] == "/studio/endpoints/phi-progress"
    assert client.get("/studio/deploy/progress/nope").status_code == 404


def test_no_payment_method_is_said_in_words(client: TestClient, api: Api) -> None:
    world = api.world(payment="None")
    sign_in(client, "admin", ADMIN_TOKEN)
    choose(client, world)
    refused = subscribe(client)
    assert refused.status_code == 400
    assert "has no payment method on file" in alerts(refused.text)


def test_a_region_the_offer_does_not_serve_is_said_in_words(client: TestClient, api: Api) -> None:
    world = api.world(World(location="westeurope"))
    sign_in(client, "admin", ADMIN_TOKEN)
    choose(client, world)
    page = parse(client.get(WIZARD).text)
    assert "not available in your workspace's region (westeurope)" in " ".join(page.alerts)
    refused = subscribe(client)
    assert refused.status_code == 400
    assert "is not available in region 'westeurope'" in alerts(refused.text)
    # Straight to Deploy (a first-party offer limited to eastus2): the endpoint's words.
    api.add_model("azureml://registries/acme/models/east-only")
    api.ok(api.offer("east-only", "azureml://registries/acme/models/east-only", regions=["eastus2"]), 201)
    refused = deploy(client, "east-only-x", "azureml://registries/acme/models/east-only")
    assert refused.status_code == 400
    assert "not available as a serverless API in region 'westeurope'" in alerts(refused.text)


def test_a_reader_sees_deploy_disabled_with_the_reason_and_cannot_post(
    client: TestClient, api: Api, world: World
) -> None:
    reader(api, client, world)
    page = parse(client.get(WIZARD).text)
    assert "Subscribe and Deploy" in page.disabled
    assert page.reasons == [f"You need {SUBSCRIBE_ACTION} on the workspace {world.ws}."]

    api.ok(api.subscribe(world), 201)
    noted = parse(client.get(WIZARD).text)
    assert "You already have an Azure Marketplace subscription for this workspace" in noted.text
    assert "Continue to deploy" in noted.disabled and "Continue to deploy" not in noted.links
    assert noted.reasons == [f"You need {DEPLOY_ACTION} on {'the workspace ' + world.ws}."]

    name_page = parse(client.get(NAME_STEP).text)
    assert "Deploy" in name_page.disabled
    assert name_page.reasons == [f"You need {DEPLOY_ACTION} on the workspace {world.ws}."]

    refused = deploy(client, "reader-try")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert f"you need {DEPLOY_ACTION}" in alerts(refused.text)
    api.ok(api.delete(world.subscription("Meta-Llama-3-8B-Instruct")), 200, 204)
    refused = subscribe(client)
    assert refused.status_code == 403
    assert f"you need {SUBSCRIBE_ACTION}" in alerts(refused.text)
    checked = client.get("/studio/deploy/check-name", params={"name": "reader-try"})
    assert checked.status_code == 200 and f"you need {DEPLOY_ACTION}" in checked.text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/studio/deploy", "No model was chosen"),
        ("/studio/deploy?model=not-a-model", "is not a model id"),
        ("/studio/deploy?model=azureml://registries/azureml-meta/models/Nope", "was not found"),
        ("/studio/deploy/name?model=%00%ff", "is not a model id"),
        ("/studio/deploy/terms?model=" + "x" * 5000, "is not a model id"),
    ],
)
def test_bad_input_is_answered_in_words(admin: TestClient, url: str, words: str) -> None:
    answer = admin.get(url)
    assert 400 <= answer.status_code < 500 and answer.headers["content-type"].startswith("text/html")
    assert words in alerts(answer.text)


def test_a_model_without_an_offer_cannot_be_deployed(admin: TestClient, api: Api) -> None:
    api.add_model("azureml://registries/acme/models/no-offer")
    answer = admin.get("/studio/deploy?model=azureml://registries/acme/models/no-offer")
    assert answer.status_code == 400 and "is not offered as a serverless API" in alerts(answer.text)


def test_posts_need_the_forms_token(admin: TestClient) -> None:
    for url in ("/studio/deploy/subscribe", "/studio/deploy/create"):
        refused = admin.post(url, data={"model": MODEL, "name": "x", "acknowledge": "on"})
        assert refused.status_code == 403 and "did not come from your Studio session" in alerts(refused.text)


def test_signed_out_the_wizard_leads_to_sign_in(client: TestClient) -> None:
    answer = client.get(WIZARD, follow_redirects=False)
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/studio/signin")

"""Studio's pages once signed in (issue 14 items 1-3), through HTTP: the workspace picker and its
memory, the Model catalog's search, filters and paging, a model's Details and Pricing and terms
(exact prices), RBAC shown as disabled controls with the missing action, escaping, the security
headers, and HTML that works without JavaScript (forms and links, no inline script or style)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import APIRouter
from fastapi.responses import Response
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from maas.web import render
from maas.web.context import StudioDep
from support.api import MODEL, Api, World
from support.studio import csrf_of, follow, parse, sign_in

USERS = "/providers/Microsoft.MaaS/users"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PASSWORD = "correct horse battery"
DEPLOY_ACTION = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/write"
LLAMA = "/studio/catalog/azureml-meta/Meta-Llama-3-8B-Instruct"


@pytest.fixture
def world(api: Api) -> World:
    return api.world(catalog=True)


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    return client


def _choose(client: TestClient, world: World, next_path: str = "/studio") -> None:
    picker = client.get(f"/studio/workspace?sub={world.sub}&rg={world.rg}&next={next_path}")
    assert picker.status_code == 200
    answer = client.post(
        "/studio/workspace",
        data={
            "csrf_token": csrf_of(picker.text),
            "sub": world.sub,
            "rg": world.rg,
            "name": world.ws,
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == next_path


def _reader(api: Api, client: TestClient) -> None:
    upn = "rita@contoso.example"
    body = {"properties": {"displayName": "Rita", "passwordProfile": {"password": PASSWORD}}}
    object_id = api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"]
    api.ok(api.assign("", object_id, READER), 201)
    client.cookies.clear()
    sign_in(client, upn, PASSWORD)


def test_the_workspace_picker_goes_account_group_workspace_and_is_remembered(
    admin: TestClient, api: Api, world: World
) -> None:
    home = parse(admin.get("/studio").text)
    assert "Choose a workspace" in home.links  # the header and the empty state say what to do

    step1 = parse(admin.get("/studio/workspace").text)
    assert world.sub in step1.text and "Choose an account first." in step1.text
    step2 = parse(admin.get(f"/studio/workspace?sub={world.sub}").text)
    assert world.rg in step2.links
    step3 = admin.get(f"/studio/workspace?sub={world.sub}&rg={world.rg}")
    assert f"Use workspace {world.ws}" in step3.text

    _choose(admin, world, "/studio/catalog")
    assert f"<strong>{world.ws}</strong>" in admin.get("/studio").text

    # Remembered server-side for the user, not in the browser: a new sign-in finds it.
    admin.cookies.clear()
    again = sign_in(admin, "admin", ADMIN_TOKEN)
    assert f"<strong>{world.ws}</strong>" in again.text


def test_choosing_a_workspace_the_user_cannot_read_is_refused_in_words(
    client: TestClient, api: Api, world: World
) -> None:
    _reader(api, client)
    other = api.world(
        World(sub="00000000-0000-0000-0000-0000000000aa", rg="rg-other", ws="ws-other"), catalog=False
    )
    mine = client.get("/studio/workspace")
    assert other.sub in mine.text  # Reader at / reads every account
    refused = client.post(
        "/studio/workspace",
        data={
            "csrf_token": csrf_of(mine.text),
            "sub": world.sub,
            "rg": world.rg,
            "name": "nope",
            "next": "/studio",
        },
    )
    assert refused.status_code == 404
    assert "nope" in " ".join(parse(refused.text).alerts)


def test_the_catalog_lists_cards_and_filters_them_without_javascript(
    admin: TestClient, api: Api, world: World
) -> None:
    page = admin.get("/studio/catalog")
    found = parse(page.text)
    assert {"Meta-Llama-3-8B-Instruct", "Phi-3-mini"} <= set(found.links)
    assert {"action": "/studio/catalog", "method": "get"} in found.forms
    assert "Paid" in page.text and "Free" in page.text

    def names(**query: str) -> set[str]:
        links = parse(admin.get("/studio/catalog", params=query).text).links
        return {text for text, href in links.items() if href.startswith("/studio/catalog/")}

    assert names(q="llama") == {"Meta-Llama-3-8B-Instruct"}
    assert names(q="LLAMA instruct") == {"Meta-Llama-3-8B-Instruct"}
    assert names(pricing="free") == {"Phi-3-mini"}
    assert names(pricing="paid") == {"Meta-Llama-3-8B-Instruct"}
    assert names(provider="metagenai") == {"Meta-Llama-3-8B-Instruct"}
    assert names(region="eastus2") == {"Meta-Llama-3-8B-Instruct", "Phi-3-mini"}  # Phi: every region
    assert names(region="westeurope") == {"Phi-3-mini"}
    empty = parse(admin.get("/studio/catalog", params={"q": "no-such-model"}).text)
    assert "No models match" in empty.text and "Clear filters" in empty.links
    assert names(pricing="bogus", page="abc") == {"Meta-Llama-3-8B-Instruct", "Phi-3-mini"}


def test_the_catalog_pages_and_keeps_the_filters_on_its_links(admin: TestClient, api: Api) -> None:
    for number in range(30):
        api.add_model(f"azureml://registries/bulk/models/bulk-model-{number:02d}")
    first = admin.get("/studio/catalog", params={"q": "bulk"})
    page = parse(first.text)
    cards = [t for t, h in page.links.items() if h.startswith("/studio/catalog/bulk/")]
    assert len(cards) == 24 and "Showing 1–24 of 30 models" in page.text
    assert "Previous" not in page.links
    next_link = urlsplit(page.links["Next"])
    assert parse_qs(next_link.query) == {"q": ["bulk"], "page": ["2"]}
    second = parse(admin.get(f"{next_link.path}?{next_link.query}").text)
    assert len([h for h in second.links.values() if h.startswith("/studio/catalog/bulk/")]) == 6
    assert "Next" not in second.links and "Previous" in second.links
    assert "Not offered as a serverless API" in second.text
    far = parse(admin.get("/studio/catalog", params={"q": "bulk", "page": "99"}).text)
    assert "Showing" not in far.text or "of 30" in far.text  # past the end: no crash


def test_a_models_details_and_pricing_and_terms_show_exact_prices(
    admin: TestClient, api: Api, world: World
) -> None:
    details = admin.get(LLAMA)
    assert details.status_code == 200
    page = parse(details.text)
    assert MODEL in page.text and f'<code id="model-id">{MODEL}</code>' in details.text
    assert 'data-copy="model-id"' in details.text
    assert "/versions/" not in MODEL and "test model" in page.text
    assert {"Details", "Pricing and terms", "Serverless API"} <= set(page.links)
    assert page.links["Serverless API"] == "/studio/deploy?" + urlencode({"model": MODEL})
    assert page.links["Pricing and terms"] == f"{LLAMA}?tab=pricing"

    pricing = admin.get(f"{LLAMA}?tab=pricing")
    text = parse(pricing.text).text
    assert "$0.0003" in text and "$0.0006" in text and "$0.00 " not in text
    assert "USD" in text and "Llama 3 licence" in text and "eastus2, westus3" in text
    assert "Azure Marketplace offer" in text

    free = parse(admin.get("/studio/catalog/azureml/Phi-3-mini?tab=pricing").text)
    assert "All regions" in free.text and "no meters" in free.text
    missing = admin.get("/studio/catalog/azureml/Nope")
    assert missing.status_code == 404 and "Model catalog" in parse(missing.text).links


def test_prices_are_never_rounded(admin: TestClient, api: Api) -> None:
    api.add_model("azureml://registries/acme/models/tiny-price")
    meters = [
        {"meterId": "in", "pricePer1K": 0.00003},
        {"meterId": "out", "pricePer1K": 2},
        {"meterId": "eur", "pricePer1K": 0.0015, "currency": "EUR"},
        {"meterId": "chf", "pricePer1K": 0.12, "currency": "CHF"},
    ]
    body = {
        "properties": {
            "modelId": "azureml://registries/acme/models/tiny-price",
            "publisherId": "acme",
            "meters": meters,
        }
    }
    api.ok(api.put("/providers/Microsoft.MaaS/offers/tiny-price", body), 201)
    text = parse(admin.get("/studio/catalog/acme/tiny-price?tab=pricing").text).text
    assert "$0.00003" in text and "$2.00" in text and "€0.0015" in text and "CHF 0.12" in text


def test_a_reader_sees_deploy_disabled_with_the_missing_action(
    client: TestClient, api: Api, world: World
) -> None:
    _reader(api, client)
    _choose(client, world, LLAMA)
    page = parse(client.get(LLAMA).text)
    assert "Deploy" in page.disabled and "Serverless API" not in page.links
    assert page.reasons == [f"You need {DEPLOY_ACTION} on the workspace {world.ws}."]
    assert "Operator" not in page.links  # only Owners at / see the operator pages


def test_an_owner_sees_deploy_and_the_operator_entry(admin: TestClient, world: World) -> None:
    _choose(admin, world, LLAMA)
    page = parse(admin.get(LLAMA).text)
    assert "Deploy" not in page.disabled and "Serverless API" in page.links and "Operator" in page.links


def test_descriptions_are_escaped(admin: TestClient, api: Api) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    path = "registries/evil/models/evil-model/versions/1"
    artifact = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
    api.ok(
        api.put(path, {"properties": {"artifact": artifact, "description": hostile, "displayName": hostile}})
    )
    for url in ("/studio/catalog", "/studio/catalog/evil/evil-model"):
        html = admin.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


@pytest.mark.parametrize("url", ["/studio", "/studio/catalog", LLAMA, "/studio/workspace", "/studio/nowhere"])
def test_pages_send_the_security_headers_and_need_no_javascript(
    admin: TestClient, world: World, url: str
) -> None:
    answer = admin.get(url)
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    page = parse(answer.text)
    assert all(script.get("src", "").startswith("/studio/static/") for script in page.scripts)
    assert page.inline_styles == 0 and page.style_tags == 0
    assert "onclick=" not in answer.text and "onload=" not in answer.text
    # The sidebar and sign-out work as plain links and a form.
    assert page.links["Model catalog"] == "/studio/catalog"
    assert {"action": "/studio/signout", "method": "post"} in page.forms


def test_static_files_are_served_from_the_package(client: TestClient) -> None:
    css = client.get("/studio/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    htmx = client.get("/studio/static/vendor/htmx/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    assert client.get("/studio/static/vendor/htmx/LICENSE").status_code == 200
    assert client.get("/studio/static/app.js").headers["content-security-policy"]
    _, hops = follow(client, "/studio/static/nothing-here.css")
    assert hops and hops[0].location.startswith("/studio/signin")  # unknown: sign-in first


def test_a_service_refusal_inside_studio_is_said_in_words(client: TestClient, api: Api, world: World) -> None:
    """A 403 from a service becomes words on Studio's page naming the missing action, never JSON."""
    upn = "nobody@contoso.example"
    body = {"properties": {"displayName": "Nobody", "passwordProfile": {"password": PASSWORD}}}
    api.ok(api.put(f"{USERS}/{upn}", body), 201)
    client.cookies.clear()
    landed = sign_in(client, upn, PASSWORD)
    picker = client.get(f"/studio/workspace?sub={world.sub}")
    assert picker.status_code == 200 and "No accounts" in parse(picker.text).text  # says what to do
    refused = client.post(
        "/studio/workspace",
        data={"csrf_token": csrf_of(landed.text), "sub": world.sub, "rg": world.rg, "name": world.ws},
    )
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    alert = " ".join(parse(refused.text).alerts)
    assert "you need Microsoft.MachineLearningServices/workspaces/read on" in alert


def test_a_new_page_that_needs_a_workspace_sends_to_the_picker_and_back(settings: Settings) -> None:
    """The recipe of docs/architecture.md ("Add a Studio page"): a router with a StudioDep page
    that calls `need_workspace()` gets sign-in, the picker and the return trip for free."""
    router = APIRouter()

    @router.get("/studio/things")
    async def things(studio: StudioDep) -> Response:
        workspace = studio.need_workspace()
        return render.page(studio, "error.html", nav="endpoints", title="Things", message=workspace.name)

    prepare(settings)
    app = create_server_app(settings)
    app.control.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = Api(client, ADMIN_TOKEN).world(catalog=False)
        sign_in(client, "admin", ADMIN_TOKEN, "/studio")
        first = client.get("/studio/things", follow_redirects=False)
        assert (
            first.status_code == 302 and first.headers["location"] == "/studio/workspace?next=/studio/things"
        )
        _choose(client, world, "/studio/things")
        page = client.get("/studio/things")
        assert page.status_code == 200 and world.ws in " ".join(parse(page.text).alerts)
        assert 'aria-current="page">Endpoints' in page.text

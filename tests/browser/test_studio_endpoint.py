"""An endpoint's page and its Playground in a real browser (issue 14 items 5 and 6), on the
shipped models of a real `maas serve`: the seed's "copy Target URI and Key and call them with
openai", the playground's answer streaming into the page, and Delete with its confirm dialog.

The endpoints are created through the API first (the deploy wizard is another page's test). The
playground's first token on screen after Send (warm: the model already answered the openai call)
is printed, as measured by the page itself (performance.now() from Send to the first text); no
assertion is made on time.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from typing import Any
from urllib.parse import quote

import httpx
from openai import OpenAI
from playwright.sync_api import Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, screenshot, sign_in
from support.server import RunningServer

API = {"api-version": "2024-01-01-preview"}
SUB = "00000000-0000-0000-0000-0000000000e1"
ML = "Microsoft.MachineLearningServices"
CHAT_MODEL = "azureml://registries/maas/models/maas-tiny-chat"
EMBED_MODEL = "azureml://registries/maas/models/wordllama-embed"
COLD_START_MS = 120_000  # the first answer of a model may wait for its replica to start
# Counts the changes to the answers' text, to see them grow piece by piece as they stream.
COUNT_ANSWER_CHANGES = """() => {
    window.__textChanges = 0;
    new MutationObserver((records) => records.forEach((r) => {
        const element = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        if (element && element.matches('.turn-assistant .turn-text')) { window.__textChanges++; }
    })).observe(document.getElementById('conversation'),
                {subtree: true, childList: true, characterData: true});
}"""


def _ok(response: httpx.Response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), response.text
    return response.json() if response.content else {}


def _workspace(http: httpx.Client, rg: str, ws: str) -> str:
    body = {"properties": {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}}
    _ok(http.put(f"/subscriptions/{SUB}", json=body, params=API))
    rg_path = f"/subscriptions/{SUB}/resourceGroups/{rg}"
    _ok(http.put(rg_path, json={"location": "eastus2"}, params=API))
    ws_path = f"{rg_path}/providers/{ML}/workspaces/{ws}"
    _ok(http.put(ws_path, json={"location": "eastus2"}, params=API))
    return ws_path


def _deploy(http: httpx.Client, ws_path: str, name: str, model: str) -> str:
    body = {"properties": {"modelSettings": {"modelId": model}}, "sku": {"name": "Consumption"}}
    created = http.put(f"{ws_path}/serverlessEndpoints/{name}", json=body, params=API)
    assert created.status_code == 201, created.text
    operation = created.headers["Azure-AsyncOperation"]
    deadline = time.monotonic() + 60
    while (status := _ok(http.get(operation), 200)["status"]) == "InProgress":
        assert time.monotonic() < deadline, "the endpoint did not come up in 60 s"
        time.sleep(0.1)
    assert status == "Succeeded", status
    return str(
        _ok(http.get(f"{ws_path}/serverlessEndpoints/{name}", params=API), 200)["properties"][
            "inferenceEndpoint"
        ]["uri"]
    )


def _choose_workspace(page: Page, rg: str, ws: str) -> None:
    """The picker, as a person uses it: account, resource group, then "Use this workspace"."""
    expect(page.get_by_role("heading", name="Choose a workspace")).to_be_visible()
    page.get_by_role("link", name=SUB).click()
    page.get_by_role("link", name=rg, exact=True).click()
    page.get_by_role("button", name=f"Use workspace {ws}").click()


def test_endpoint_page_keys_openai_playground_and_delete(page: Page, server: RunningServer) -> None:
    with server.client() as http:
        ws_path = _workspace(http, "rg-web", "ws-web")
        _ok(
            http.put(
                f"{ws_path}/marketplaceSubscriptions/tiny-chat",
                json={"properties": {"modelId": CHAT_MODEL}},
                params=API,
            )
        )
        uri = _deploy(http, ws_path, "tiny-chat-web", CHAT_MODEL)

    # Endpoints → the endpoint: sign in, choose the workspace, and land on its page
    sign_in(page, f"{server.url}/studio/endpoints/tiny-chat-web", "admin", ADMIN_TOKEN)
    _choose_workspace(page, "rg-web", "ws-web")
    expect(page.get_by_role("heading", name="tiny-chat-web", level=1)).to_be_visible()
    expect(page.get_by_text(uri, exact=True)).to_be_visible()
    expect(page.get_by_text("Hidden: the keys are fetched only when you ask.")).to_be_visible()
    expect(page.get_by_text("Tokens left this minute")).to_be_visible()
    expect(page.locator("#usage-chart canvas")).to_have_count(1)  # uPlot drew the chart
    assert_accessible(page, "endpoint details")

    # Show: the keys come (listKeys as the signed-in person), with Hide and Copy
    page.get_by_role("button", name="Show", exact=True).click()
    primary = page.get_by_label("Primary key", exact=True)
    expect(primary).to_be_visible()
    key = primary.input_value()
    assert len(key) >= 32
    expect(page.get_by_role("button", name="Copy Target URI")).to_be_visible()
    expect(page.get_by_role("button", name="Copy primary key")).to_be_visible()
    expect(page.get_by_role("button", name="Copy secondary key")).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.get_by_role("button", name="Copy Target URI").click()
    expect(page.get_by_role("button", name="Copy Target URI")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == uri
    page.get_by_role("button", name="Copy primary key").click()
    expect(page.get_by_role("button", name="Copy primary key")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    hide = page.get_by_role("button", name="Show or hide the primary key")
    hide.click()
    expect(primary).to_have_attribute("type", "password")
    expect(hide).to_have_text("Show")
    hide.click()
    expect(primary).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Copy primary key")).to_have_text("Copy")  # "Copied" passed
    assert_accessible(page, "endpoint details with keys")
    screenshot(page, "endpoint-keys")

    # the seed: copy the Target URI and Key and call them with openai
    client = OpenAI(base_url=uri, api_key=key, timeout=COLD_START_MS / 1000)
    reply = client.chat.completions.create(
        model="maas-tiny-chat", messages=[{"role": "user", "content": "What does ocean mean?"}], max_tokens=24
    )
    assert reply.choices[0].message.content and reply.usage is not None and reply.usage.completion_tokens > 0

    # Consume: the openai snippet runs as it is, with the key in the environment
    page.get_by_role("link", name="Consume").click()
    snippet = page.locator("#snippet-openai")
    expect(snippet).to_contain_text(uri)
    assert key not in page.content()
    printed = io.StringIO()
    os.environ["AZURE_INFERENCE_CREDENTIAL"] = key
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(snippet.inner_text(), "consume-openai", "exec"), {})
    finally:
        del os.environ["AZURE_INFERENCE_CREDENTIAL"]
    assert "completion_tokens" in printed.getvalue()
    expect(page.get_by_role("button", name="Copy the curl snippet")).to_be_visible()
    assert_accessible(page, "endpoint consume")
    screenshot(page, "endpoint-consume")

    # Playground: Enter sends; the answer streams into the page, then its tokens and cost
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Max tokens").fill("32")
    page.evaluate(COUNT_ANSWER_CHANGES)
    timings = []
    for turn, text in enumerate(("Hello! What is a river?", "And a lake?"), start=1):
        message = page.get_by_label("Message", exact=True)
        message.fill(text)
        message.press("Enter")
        answer = page.locator(".turn-assistant").nth(turn - 1)
        expect(answer.locator(".turn-note")).to_contain_text("output tokens", timeout=COLD_START_MS)
        expect(answer.locator(".turn-note")).to_contain_text("$0.0")  # exact, never $0.00
        assert answer.locator(".turn-text").inner_text().strip()
        timings.append(int(page.locator("#playground-form").get_attribute("data-first-token-ms") or -1))
    assert page.evaluate("() => window.__textChanges") > 2, "the answers did not grow piece by piece"
    print(f"\nplayground first token on screen after Send (warm, Chromium, ms): {timings}")
    expect(page.locator(".turn-user")).to_have_count(2)
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    assert_accessible(page, "endpoint playground")
    screenshot(page, "endpoint-playground", full_page=True)

    # the calls were metered: the Details tab's quota shows what they used
    page.get_by_role("link", name="Details").click()
    tokens_left = page.locator('[data-quota="tokens"]').inner_text()
    assert int(tokens_left.replace(",", "")) < 200_000
    expect(page.get_by_text("Hidden: the keys are fetched only when you ask.")).to_be_visible()
    page.get_by_text("The same numbers as a table").click()
    expect(
        page.get_by_role("table", name="Tokens and cost per hour in the last 24 hours (UTC)")
    ).to_be_visible()
    assert_accessible(page, "endpoint details with usage")
    screenshot(page, "endpoint-details", full_page=True)

    # Delete, with its confirm dialog; then back to the endpoints list
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_url(f"{server.url}/studio/endpoints")
    with server.client() as http:
        deadline = time.monotonic() + 30
        while http.get(f"{ws_path}/serverlessEndpoints/tiny-chat-web", params=API).status_code != 404:
            assert time.monotonic() < deadline, "the endpoint was not deleted"
            time.sleep(0.1)
    assert_offline(page)


def test_embeddings_playground_shows_a_similarity_table(page: Page, server: RunningServer) -> None:
    with server.client() as http:
        ws_path = _workspace(http, "rg-embed", "ws-embed")
        _deploy(http, ws_path, "embed-web", EMBED_MODEL)
    # Studio remembers the workspace last chosen: open the picker and come back to the playground
    next_page = quote("/studio/endpoints/embed-web?tab=playground", safe="/")
    sign_in(page, f"{server.url}/studio/workspace?next={next_page}", "admin", ADMIN_TOKEN)
    _choose_workspace(page, "rg-embed", "ws-embed")
    page.get_by_label("Texts (one per line)").fill("a cat\na kitten\nthe stock market")
    page.get_by_role("button", name="Embed").click()
    table = page.get_by_role("table", name="Cosine similarity (1 means the same direction)")
    expect(table).to_be_visible(timeout=COLD_START_MS)
    expect(page.get_by_text("3 vectors of 256 dimensions")).to_be_visible()
    expect(table.get_by_role("cell", name="1.000")).to_have_count(3)
    assert "/studio/endpoints/embed-web" in page.url  # htmx swapped the results in place
    assert_accessible(page, "embeddings playground")
    screenshot(page, "endpoint-embeddings-playground", full_page=True)
    assert_offline(page)

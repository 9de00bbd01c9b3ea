"""The seed's deploy flow in Studio, in a real browser against `maas serve` with its shipped models:
Model catalog → maas-tiny-chat (a paid marketplace offer) → Deploy → Serverless API → the
purchase-policy checkbox → Subscribe and Deploy → the deployment name (checked as it is typed) →
Deploy → the endpoint's page; Endpoints → Serverless endpoints lists it; a second try shows "You
already have an Azure Marketplace subscription for this workspace" → Continue to deploy, and the
API's refusal of a second endpoint for the model in words. Each page is checked with axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, screenshot, sign_in
from support.server import RunningServer

SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg-studio"
WS = "ws-studio"
ML = "Microsoft.MachineLearningServices"
VERSION = {"api-version": "2024-01-01-preview"}
ENDPOINT = "tiny-chat-browser"
ACKNOWLEDGE = "I acknowledge the Microsoft purchase policy"


@pytest.fixture(scope="module")
def workspace(server: RunningServer) -> str:
    """An account with a payment method, a resource group and a workspace in eastus2."""
    with server.client() as client:
        account = {"properties": {"billingProfile": {"paymentMethod": "CreditCard"}}}
        for path, body in [
            (f"/subscriptions/{SUB}", account),
            (f"/subscriptions/{SUB}/resourceGroups/{RG}", {"location": "eastus2"}),
            (
                f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{ML}/workspaces/{WS}",
                {"location": "eastus2"},
            ),
        ]:
            answer = client.put(path, json=body, params=VERSION)
            assert answer.status_code in (200, 201), answer.text
    return WS


def _signed_in_with_workspace(page: Page, server: RunningServer) -> None:
    sign_in(page, f"{server.url}/studio", "admin", ADMIN_TOKEN)
    expect(page).to_have_url(re.compile(r"/studio$"))
    page.goto(f"/studio/workspace?sub={SUB}&rg={RG}")
    page.get_by_role("button", name=f"Use workspace {WS}").click()
    expect(page.get_by_role("link", name=re.compile(f"Workspace {WS}"))).to_be_visible()


def _open_wizard(page: Page) -> None:
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Model catalog").click()
    page.get_by_role("link", name="maas-tiny-chat").click()
    expect(page.get_by_role("heading", name="maas-tiny-chat", level=1)).to_be_visible()
    page.get_by_role("button", name="Deploy").click()
    page.get_by_role("link", name="Serverless API").click()
    expect(page.get_by_role("heading", name="Deploy maas-tiny-chat as a serverless API")).to_be_visible()


def test_catalog_to_a_deployed_endpoint_and_the_second_try(
    page: Page, server: RunningServer, workspace: str
) -> None:
    _signed_in_with_workspace(page, server)

    # Endpoints before any deployment: the empty state says where to start.
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Endpoints").click()
    expect(page.get_by_role("link", name="Serverless endpoints")).to_be_visible()
    expect(page.get_by_role("heading", name="No serverless endpoints yet")).to_be_visible()
    assert_accessible(page, "serverless endpoints, empty")
    screenshot(page, "endpoints-empty")

    _open_wizard(page)
    subscribe = page.get_by_role("button", name="Subscribe and Deploy")
    expect(subscribe).to_be_disabled()  # until the box is ticked
    expect(page.get_by_role("link", name="Azure Marketplace Terms")).to_be_visible()
    assert_accessible(page, "deploy wizard, subscribe step")
    screenshot(page, "deploy-subscribe")
    page.get_by_role("link", name="Azure Marketplace Terms").click()
    expect(page.get_by_role("heading", name="Azure Marketplace Terms")).to_be_visible()
    expect(page.get_by_text("MaaS tiny chat — terms of use")).to_be_visible()
    assert_accessible(page, "Azure Marketplace Terms")
    page.get_by_role("link", name="Back to the deployment wizard").click()

    page.get_by_label(ACKNOWLEDGE).check()
    expect(subscribe).to_be_enabled()
    subscribe.click()

    name = page.get_by_label("Deployment name")
    expect(name).to_have_value(re.compile(r"^maas-tiny-chat-[a-z]{4}$"))
    name.fill("9-starts-with-a-digit")
    expect(page.get_by_text("it must start with a letter")).to_be_visible()  # checked as typed
    name.fill(ENDPOINT)
    expect(page.get_by_text(f"'{ENDPOINT}' is available in eastus2.")).to_be_visible()
    assert_accessible(page, "deploy wizard, name step")
    screenshot(page, "deploy-name")
    page.get_by_role("button", name="Deploy", exact=True).click()

    # The progress page follows the state until Succeeded, then opens the endpoint's page.
    expect(page).to_have_url(re.compile(f"/studio/endpoints/{ENDPOINT}$"))

    page.goto("/studio/endpoints")
    row = page.get_by_role("row", name=re.compile(ENDPOINT))
    expect(row.get_by_role("link", name=ENDPOINT)).to_have_attribute("href", f"/studio/endpoints/{ENDPOINT}")
    expect(row.get_by_role("cell", name="Succeeded")).to_be_visible()
    expect(row.get_by_role("cell", name="maas-tiny-chat")).to_be_visible()
    assert_accessible(page, "serverless endpoints")
    screenshot(page, "endpoints-list")

    # The second try: the workspace is subscribed already.
    _open_wizard(page)
    expect(
        page.get_by_text("You already have an Azure Marketplace subscription for this workspace")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Subscribe and Deploy")).to_have_count(0)
    assert_accessible(page, "deploy wizard, already subscribed")
    screenshot(page, "deploy-already-subscribed")
    page.get_by_role("link", name="Continue to deploy").click()
    page.get_by_label("Deployment name").fill("tiny-chat-second")
    page.get_by_role("button", name="Deploy", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("already has a serverless endpoint for")  # the API's words
    expect(alert).to_contain_text(ENDPOINT)
    assert_accessible(page, "deploy wizard, error")
    assert_offline(page)

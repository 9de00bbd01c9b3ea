"""Studio's resource group view in a real browser, as the seed's portal steps go: Resource
groups → the group → Type filter SaaS → the subscription listed → Delete (confirm) → Show hidden
types shows its endpoint Unhealthy; a resource's details; axe and no request off the machine."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, screenshot, sign_in
from support.browser_world import Place, build, chat, deploy
from support.fake_upstream import fake_upstream
from support.server import RunningServer

PLACE = Place("rg-portal", "ws-portal", "eastus2")
ENDPOINT = "meta-llama3-8b-qwerty"


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[Place]:
    with fake_upstream() as upstream:
        build(server, upstream.url, [PLACE])
        uri, key = deploy(server, PLACE, ENDPOINT)
        chat(uri, key, times=1)
        yield PLACE


def test_type_filter_saas_delete_then_hidden_types_show_the_endpoint_unhealthy(
    page: Page, server: RunningServer, world: Place
) -> None:
    sign_in(page, "/studio", "admin", ADMIN_TOKEN)
    expect(page.get_by_role("heading", name="Welcome to MaaS Studio")).to_be_visible()
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Resource groups").click()
    expect(page.get_by_role("heading", name="Resource groups", level=1)).to_be_visible()
    assert_accessible(page, "resource groups")
    screenshot(page, "resource-groups")

    page.get_by_role("link", name=world.rg).click()
    expect(page.get_by_role("heading", name=world.rg, level=1)).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name=world.ws)).to_be_visible()
    expect(table).not_to_contain_text(ENDPOINT)  # hidden by default, as the seed says
    assert_accessible(page, "resource group")

    page.get_by_label("Type", exact=True).select_option(label="SaaS")
    row = page.get_by_role("row").filter(has_text="meta-llama-3-8b-instruct-")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Subscribed")
    expect(row).to_contain_text("metagenai")
    expect(page).to_have_url(re.compile(r"type=Microsoft\.SaaS"))  # htmx pushed the filter
    assert_accessible(page, "resource group, type SaaS")
    screenshot(page, "resource-group-saas")

    # Select the subscription: its details, then back.
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("meta-llama-3-8b-instruct-")
    expect(page.get_by_text("Llama 3 licence")).to_be_visible()
    assert_accessible(page, "a SaaS resource's details")
    page.go_back()

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("row").filter(has_text="meta-llama-3-8b-instruct-").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted the subscription")
    assert questions and "Unhealthy" in questions[0]
    expect(page.get_by_text("No marketplace subscriptions")).to_be_visible()

    page.get_by_label("Type", exact=True).select_option(label="All types")
    page.get_by_label("Show hidden types").check()
    endpoint_row = page.get_by_role("row").filter(has_text=ENDPOINT)
    expect(endpoint_row).to_contain_text("Serverless endpoint")
    expect(endpoint_row).to_contain_text("Unhealthy")
    expect(page.get_by_role("columnheader", name="State")).to_be_visible()
    assert_accessible(page, "resource group with hidden types")
    screenshot(page, "resource-group-hidden-types")
    assert_offline(page)

"""Studio's Connections in a real browser: in a workspace of a region the offer does not serve
(westeurope), create a connection to the endpoint deployed in another workspace (eastus2) by
choosing it, see it listed, delete it (confirm); axe and no request off the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, screenshot, sign_in
from support.browser_world import SUB, Place, build, deploy
from support.fake_upstream import fake_upstream
from support.server import RunningServer

THERE = Place("rg-east", "ws-east", "eastus2")
HERE = Place("rg-west", "ws-west", "westeurope")


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[str]:
    with fake_upstream() as upstream:
        build(server, upstream.url, [THERE, HERE])
        uri, _ = deploy(server, THERE, "llama-east")
        yield uri


def test_create_a_connection_to_another_workspaces_endpoint_and_delete_it(
    page: Page, server: RunningServer, world: str
) -> None:
    sign_in(page, "/studio", "admin", ADMIN_TOKEN)
    page.goto(f"/studio/workspace?sub={SUB}&rg={HERE.rg}")
    page.get_by_role("button", name=f"Use workspace {HERE.ws}").click()
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Connections", level=1)).to_be_visible()
    expect(page.get_by_text("No connections yet")).to_be_visible()
    assert_accessible(page, "connections, empty")

    page.get_by_label("Connection name").fill("llama-from-east")
    page.get_by_label("Endpoint", exact=True).select_option(
        label=f"llama-east ({THERE.rg}/{THERE.ws}, eastus2)"
    )
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_role("status")).to_contain_text("Created the connection llama-from-east.")
    row = page.get_by_role("row").filter(has_text="llama-from-east")
    expect(row).to_contain_text(world)  # the endpoint's Target URI, filled in by the service
    expect(row).to_contain_text("Serverless")
    assert_accessible(page, "connections")
    screenshot(page, "connections")

    # A typed Target URI that is not a URL is said in words, and the name is kept.
    page.get_by_label("Connection name").fill("typed")
    page.get_by_label("Target URI").fill("not-a-url")
    page.get_by_label("Key", exact=True).fill("k")
    page.evaluate("document.getElementById('conn-target').type = 'text'")  # past the browser's own check
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_role("alert")).to_contain_text("The Target URI must be a full http:// or https:// URL")
    expect(page.get_by_label("Connection name")).to_have_value("typed")

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("row").filter(has_text="llama-from-east").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted the connection llama-from-east.")
    assert questions == ["Delete the connection llama-from-east? Whatever uses it stops working."]
    expect(page.get_by_role("row").filter(has_text="llama-from-east")).to_have_count(0)
    assert_offline(page)

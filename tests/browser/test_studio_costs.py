"""Studio's Costs in a real browser after traffic: chat calls through the gateway, then the
Costs page shows a non-zero total with its currency, the chart (uPlot's canvas) and the table
with its total row; stacking by endpoint; the CSV link; axe and no request off the machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, record_of, screenshot, sign_in
from support.browser_world import SUB, Place, build, chat, deploy, wait_for_cost
from support.fake_upstream import fake_upstream
from support.server import RunningServer

PLACE = Place("rg-costs", "ws-costs", "eastus2")


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[Place]:
    with fake_upstream() as upstream:
        build(server, upstream.url, [PLACE])
        uri, key = deploy(server, PLACE, "llama-costs")
        chat(uri, key, times=3)
        assert wait_for_cost(server, PLACE.ws_path) > 0
        yield PLACE


def choose(page: Page, place: Place) -> None:
    page.goto(f"/studio/workspace?sub={SUB}&rg={place.rg}")
    page.get_by_role("button", name=f"Use workspace {place.ws}").click()
    expect(page.get_by_role("link", name=f"Workspace {place.ws}")).to_be_visible()


def test_costs_after_traffic_show_a_total_a_chart_and_the_table(
    page: Page, server: RunningServer, world: Place
) -> None:
    sign_in(page, "/studio", "admin", ADMIN_TOKEN)
    choose(page, world)
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs", level=1)).to_be_visible()

    summary = page.locator("#cost-summary")
    expect(summary).to_contain_text("Total USD: $0.0")
    total = summary.get_by_role("strong").first.inner_text()
    assert total.startswith("$") and float(total.lstrip("$")) > 0, total
    expect(page.locator("#cost-chart canvas").first).to_be_attached()
    expect(page.locator("#cost-chart")).to_have_attribute("data-drawn", "true")
    table = page.get_by_role("table", name="Cost per day and meter")
    expect(table.get_by_role("row").filter(has_text="paygo-inference-input-tokens").first).to_be_visible()
    expect(table.get_by_role("rowheader", name="Total")).to_be_visible()
    expect(table.get_by_role("row").last).to_contain_text(total)
    assert_accessible(page, "costs")
    screenshot(page, "costs", full_page=True)

    page.get_by_label("Stack by").select_option(label="Endpoint")
    page.get_by_role("button", name="Show costs").click()
    by_endpoint = page.get_by_role("table", name="Cost per day and endpoint")
    expect(by_endpoint.get_by_role("row").filter(has_text="llama-costs").first).to_be_visible()
    expect(by_endpoint.get_by_role("row").last).to_contain_text(total)
    expect(page.locator("#cost-chart canvas").first).to_be_attached()
    href = page.get_by_role("link", name="Download CSV").get_attribute("href") or ""
    assert href.startswith("/studio/costs.csv?scope=workspace&") and "by=endpoint" in href
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.startswith("Date,Endpoint,Quantity,Cost,Currency") and "llama-costs" in content

    page.get_by_label("From").fill("2025-03-31")
    page.get_by_label("To").fill("2025-03-01")
    page.get_by_role("button", name="Show costs").click()
    expect(page.get_by_role("alert")).to_contain_text("is before the From date")
    assert_offline(page)
    errors = record_of(page).console_errors + record_of(page).page_errors
    assert not [e for e in errors if "Failed to load resource" not in e], errors  # uPlot runs under the CSP

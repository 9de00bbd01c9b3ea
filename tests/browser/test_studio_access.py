"""Access control, Activity log and Operator pages in a real browser, as a person uses them:
add a role assignment for a user, check access shows it, remove it; create a custom role from
JSON; the activity log shows the assignment events with a filter; a Reader sees Add disabled
with the reason and no Operator pages; an operator creates an offer (exact prices), creates a
user and disables it. Every page is checked with axe and for requests leaving 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from support.browser import ADMIN_TOKEN, assert_accessible, assert_offline, screenshot, sign_in
from support.server import RunningServer

SUB = "00000000-0000-0000-0000-0000000000a1"
RG = "rg-iam"
WS = "ws-iam"
RG_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}"
WS_PATH = f"{RG_PATH}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MODEL = "azureml://registries/iam-tests/models/Tiny-Chat"


def _ok(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _user(api: httpx.Client, upn: str, name: str, password: str) -> str:
    body = {"properties": {"displayName": name, "passwordProfile": {"password": password}}}
    found = _ok(api.put(f"/providers/Microsoft.MaaS/users/{upn}", json=body, params={"api-version": "1"}))
    properties = found["properties"]
    assert isinstance(properties, dict)
    return str(properties["principalId"])


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[dict[str, str]]:
    """An account, resource group and workspace; users Alice (no role) and Carol (Reader on
    the workspace); a catalog model with no offer yet."""
    with server.client() as api:
        v = {"api-version": "2024-01-01-preview"}
        account = {
            "properties": {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}
        }
        _ok(api.put(f"/subscriptions/{SUB}", json=account, params=v))
        _ok(api.put(RG_PATH, json={"location": "eastus2"}, params=v))
        _ok(api.put(WS_PATH, json={"location": "eastus2"}, params=v))
        alice = _user(api, "alice", "Alice Liddell", "alice-password-1")
        carol = _user(api, "carol", "Carol Reader", "carol-password-1")
        role = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
        assignment = {"properties": {"roleDefinitionId": role, "principalId": carol}}
        _ok(
            api.put(
                f"{WS_PATH}/providers/Microsoft.Authorization/roleAssignments/{carol}",
                json=assignment,
                params=v,
            )
        )
        upstream = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
        model = {"properties": {"artifact": upstream, "description": "A model for the operator test"}}
        _ok(api.put(MODEL.removeprefix("azureml:/") + "/versions/1", json=model, params=v))
        yield {"alice": alice, "carol": carol}


def _use_workspace(page: Page) -> None:
    page.goto(f"/studio/workspace?sub={SUB}&rg={RG}")
    page.get_by_role("button", name=f"Use workspace {WS}").click()
    page.wait_for_url("**/studio")


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def test_add_a_role_assignment_check_access_remove_it_and_find_it_in_the_activity_log(
    page: Page, server: RunningServer, world: dict[str, str]
) -> None:
    sign_in(page, f"{server.url}/studio", "admin", ADMIN_TOKEN)
    page.wait_for_url("**/studio")
    _use_workspace(page)
    page.get_by_role("link", name="Access control").click()
    expect(page.get_by_role("heading", name="Access control (IAM)")).to_be_visible()
    expect(page.get_by_label("Scope")).to_have_value(WS_PATH)  # the chosen workspace
    expect(page.get_by_role("cell", name="Inherited").first).to_be_visible()  # admin's Owner at /
    assert_accessible(page, "access control")
    screenshot(page, "access-assignments")

    page.get_by_role("link", name="Add role assignment").click()
    expect(page.get_by_role("heading", name="Add role assignment")).to_be_visible()
    page.get_by_label("Search members").fill("Alice")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Role").select_option(label="Reader")
    page.get_by_label("Alice Liddell").check()
    assert_accessible(page, "add role assignment")
    screenshot(page, "access-add")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status").first).to_contain_text("Added a role assignment for Alice Liddell")
    row = page.get_by_role("row").filter(has_text="Alice Liddell")
    expect(row).to_contain_text("Reader")
    expect(row).to_contain_text("This resource")

    page.get_by_role("link", name="Check access").click()
    page.get_by_label("User or service principal").fill("alice")
    page.get_by_label("Action to test (optional)").fill("Microsoft.MachineLearningServices/workspaces/read")
    page.get_by_role("button", name="Check access").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Allowed: Microsoft.MachineLearningServices/workspaces/read")
    expect(verdict).to_contain_text("Reader")
    expect(page.get_by_role("table").first).to_contain_text("Reader")
    assert_accessible(page, "check access")
    screenshot(page, "access-check")

    page.get_by_role("link", name="Role assignments").click()
    page.once("dialog", _accept)
    page.get_by_role("button", name="Remove Reader from Alice Liddell").click()
    expect(page.get_by_role("status").first).to_contain_text("Removed the role assignment.")
    expect(page.get_by_role("row").filter(has_text="Alice Liddell")).to_have_count(0)

    page.get_by_role("link", name="Activity log").click()
    expect(page.get_by_role("heading", name="Activity log")).to_be_visible()
    page.get_by_label("Operation").fill("Microsoft.Authorization/roleAssignments")
    page.get_by_role("button", name="Apply").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("Microsoft.Authorization/roleAssignments/write")
    expect(table).to_contain_text("Microsoft.Authorization/roleAssignments/delete")
    expect(table).not_to_contain_text("Microsoft.MachineLearningServices/workspaces/write")
    assert_accessible(page, "activity log")
    screenshot(page, "activity-log")
    assert_offline(page)


def test_create_a_custom_role_from_json(page: Page, server: RunningServer, world: dict[str, str]) -> None:
    sign_in(page, f"{server.url}/studio/access?scope={WS_PATH}&tab=roles", "admin", ADMIN_TOKEN)
    expect(page.get_by_role("heading", name="Roles")).to_be_visible()
    page.get_by_role("link", name="Create a custom role").click()
    role = {
        "Name": "Endpoint reader",
        "IsCustom": True,
        "Description": "Reads serverless endpoints",
        "Actions": ["Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read"],
        "AssignableScopes": [WS_PATH],
    }
    page.get_by_label("Role definition (JSON)").fill("{not json")
    page.get_by_role("button", name="Save role from JSON").click()
    expect(page.get_by_role("alert")).to_contain_text("The role definition is not valid JSON")
    page.get_by_label("Role definition (JSON)").fill(json.dumps(role, indent=2))
    assert_accessible(page, "custom role form")
    screenshot(page, "access-custom-role")
    page.get_by_role("button", name="Save role from JSON").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved the custom role Endpoint reader.")
    page.get_by_role("link", name="Endpoint reader", exact=True).click()
    expect(page.get_by_role("heading", name="Endpoint reader")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(
        "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read"
    )
    assert_accessible(page, "custom role")
    assert_offline(page)


def test_a_reader_sees_add_disabled_with_the_reason_and_no_operator_pages(
    page: Page, server: RunningServer, world: dict[str, str]
) -> None:
    sign_in(page, f"{server.url}/studio/access?scope={WS_PATH}", "carol", "carol-password-1")
    expect(page.get_by_role("heading", name="Access control (IAM)")).to_be_visible()
    add = page.get_by_role("button", name="Add role assignment")
    expect(add).to_be_disabled()
    expect(add).to_have_accessible_description(
        f"You need Microsoft.Authorization/roleAssignments/write on workspace {WS}."
    )
    expect(page.get_by_role("navigation", name="Studio").get_by_role("link", name="Operator")).to_have_count(
        0
    )
    assert_accessible(page, "access control as a reader")
    page.goto("/studio/operator")
    expect(page.get_by_role("heading", name="You don't have access")).to_be_visible()
    expect(page.get_by_text("Microsoft.Authorization/roleAssignments/write on /")).to_be_visible()


def test_operator_creates_an_offer_with_exact_prices_and_a_user_then_disables_it(
    page: Page, server: RunningServer, world: dict[str, str]
) -> None:
    sign_in(page, f"{server.url}/studio", "admin", ADMIN_TOKEN)
    page.wait_for_url("**/studio")
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Operator").click()
    expect(page.get_by_role("heading", name="Catalog models")).to_be_visible()
    page.get_by_role("link", name="Create an offer for Tiny-Chat").click()
    expect(page.get_by_label("Model ID")).to_have_value(MODEL)
    page.get_by_label("Offer id").fill("iam-tiny-offer")
    page.get_by_label("Publisher").fill("iam-tests")
    page.get_by_label("Input price per 1K tokens").fill("0.0003")
    page.get_by_label("Output price per 1K tokens").fill("0.0006")
    page.get_by_label("Regions").fill("eastus2, westus3")
    page.get_by_label("Terms").fill("Use it kindly.")
    assert_accessible(page, "create an offer")
    page.get_by_role("button", name="Save offer").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved the offer iam-tiny-offer.")
    offers = page.get_by_role("table", name="Offers and their prices")
    offer = offers.get_by_role("row").filter(has_text="iam-tiny-offer")
    expect(offer).to_contain_text("paygo-inference-input-tokens: $0.0003 per 1K tokens")
    expect(offer).to_contain_text("paygo-inference-output-tokens: $0.0006 per 1K tokens")
    expect(offer).to_contain_text("eastus2, westus3")
    assert_accessible(page, "operator catalog")
    screenshot(page, "operator-catalog")

    page.get_by_role("link", name="Pools").click()
    expect(page.get_by_role("heading", name="Pools", exact=True)).to_be_visible()
    assert_accessible(page, "operator pools")

    page.get_by_role("link", name="Principals").click()
    new_user = page.get_by_role("form", name="Create a user")
    new_user.get_by_label("User name").fill("bob")
    new_user.get_by_label("Display name").fill("Bob Builder")
    new_user.get_by_label("Password").fill("bob-password-1")
    new_user.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status").first).to_contain_text("Created the user bob.")
    row = page.get_by_role("row").filter(has_text="Bob Builder")
    expect(row).to_contain_text("Enabled")
    row.get_by_role("button", name="Disable bob").click()
    expect(page.get_by_role("status").first).to_contain_text("Disabled the user bob.")
    expect(page.get_by_role("row").filter(has_text="Bob Builder")).to_contain_text("Disabled")
    assert_accessible(page, "operator principals")
    screenshot(page, "operator-principals")
    assert_offline(page)

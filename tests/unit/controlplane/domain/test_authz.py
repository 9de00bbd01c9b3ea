"""Unit tests for maas.controlplane.domain.authz (built-in roles and the permission check)."""

from __future__ import annotations

import dataclasses

import pytest

from maas.controlplane.domain.authz import (
    BUILTIN_ROLES,
    SCORE_DATA_ACTION,
    Grant,
    Permission,
    RoleDefinition,
    action_matches,
    find_builtin_role,
    is_allowed,
    is_data_allowed,
    scope_contains,
)

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
RG = f"{SUB}/resourceGroups/rg1"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws1"
MLS = "Microsoft.MachineLearningServices"


def role(name: str) -> RoleDefinition:
    found = find_builtin_role(name)
    assert found is not None, name
    return found


def grant(name: str, scope: str = SUB) -> Grant:
    return Grant(scope=scope, role=role(name))


# --- built-in role table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "guid", "actions", "not_actions", "data_actions"),
    [
        ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", 1, 0, 0),
        ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", 1, 8, 0),
        ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", 1, 0, 0),
        # 7 + the seed's 7; 3 + the keyless score data action
        ("Azure AI Developer", "64702f94-c441-49e6-a78b-ef80e0188fee", 14, 7, 4),
        ("AzureML Data Scientist", "f6c7c914-8db3-469d-8ca1-694a8f32e121", 4, 10, 1),  # keyless
        ("Azure AI Inference Deployment Operator", "3afb7f49-54cb-416e-8c09-6dc049efa503", 3, 0, 0),
    ],
)
def test_builtin_role_counts(name: str, guid: str, actions: int, not_actions: int, data_actions: int) -> None:
    r = role(name)
    assert r.role_name == name
    assert r.guid == guid
    assert r.role_type == "BuiltInRole"
    assert r.assignable_scopes == ("/",)
    assert r.id == f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    assert len(r.permissions) == 1
    (p,) = r.permissions
    assert len(p.actions) == actions
    assert len(p.not_actions) == not_actions
    assert len(p.data_actions) == data_actions
    assert p.not_data_actions == ()


def test_builtin_roles_are_the_six_published_ones() -> None:
    assert [r.role_name for r in BUILTIN_ROLES] == [
        "Owner",
        "Contributor",
        "Reader",
        "Azure AI Developer",
        "AzureML Data Scientist",
        "Azure AI Inference Deployment Operator",
    ]
    assert len({r.guid for r in BUILTIN_ROLES}) == len(BUILTIN_ROLES)


def test_exact_strings_and_descriptions() -> None:
    contributor = role("Contributor")
    assert contributor.permissions[0].not_actions[:3] == (
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
    )
    assert contributor.description.startswith("Grants full access to manage all resources, but")
    assert role("AzureML Data Scientist").description == (
        "Can perform all actions within an Azure Machine Learning workspace, except for creating "
        "or deleting compute resources and modifying the workspace itself."
    )
    assert role("Azure AI Inference Deployment Operator").description == (
        "Can perform all actions required to create a resource deployment within a resource group."
    )
    assert role("Reader").permissions[0].actions == ("*/read",)


def test_role_definition_is_frozen_and_checks_role_type() -> None:
    r = role("Owner")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.role_name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="role_type"):
        RoleDefinition("g", "n", "d", "Builtin", (Permission(actions=("*",)),))
    custom = RoleDefinition("g", "n", "d", "CustomRole", (Permission(actions=("*",)),), (SUB,))
    assert custom.id == "/providers/Microsoft.Authorization/roleDefinitions/g"


# --- find_builtin_role ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "Contributor",
        "contributor",
        "CONTRIBUTOR",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "B24988AC-6180-42A0-AB88-20F7382DD24C",
        "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        "/PROVIDERS/microsoft.authorization/ROLEDEFINITIONS/b24988ac-6180-42a0-ab88-20f7382dd24c",
    ],
)
def test_find_builtin_role_forms(key: str) -> None:
    assert role(key).role_name == "Contributor"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "Contrib",
        "User Access Administrator",
        "00000000-0000-0000-0000-000000000000",
        f"{RG}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        "/providers/Microsoft.Authorization/roleAssignments/b24988ac-6180-42a0-ab88-20f7382dd24c",
    ],
)
def test_find_builtin_role_misses(key: str) -> None:
    assert find_builtin_role(key) is None


def test_find_by_multiword_name_any_case() -> None:
    assert role("azure ai developer").guid == "64702f94-c441-49e6-a78b-ef80e0188fee"


# --- action_matches ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "Microsoft.Anything/x/write", True),
        ("*/read", "Microsoft.SaaS/resources/read", True),
        ("*/read", "Microsoft.SaaS/resources/write", False),
        ("*/read", "Microsoft.SaaS/resources/readx", False),
        (f"{MLS}/workspaces/*/write", f"{MLS}/workspaces/write", True),
        (f"{MLS}/workspaces/*/write", f"{MLS}/workspaces/serverlessEndpoints/write", True),
        (f"{MLS}/workspaces/*/write", f"{MLS}/workspaces/a/b/c/write", True),
        (f"{MLS}/workspaces/*/write", f"{MLS}/workspaceswrite", False),
        (f"{MLS}/workspaces/*/write", f"{MLS}/workspaces/x/read", False),
        (f"{MLS}/workspaces/*/write", "Microsoft.Other/workspaces/write", False),
        ("Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/start/action", True),
        ("Microsoft.Compute/*", "Microsoft.ComputeX/virtualMachines/read", False),
        ("Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/WRITE", True),
        ("microsoft.web/sites/restart/Action", "Microsoft.Web/sites/restart/action", True),
        ("a/*/*/b", "a/b", True),
        ("a/*/*/b", "a/x/y/b", True),
        # regex metacharacters in a pattern are literal
        ("Microsoft.Compute/vm/read", "MicrosoftXCompute/vm/read", False),
        ("a+b/read", "a+b/read", True),
        ("a+b/read", "aab/read", False),
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


# --- scope_contains ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("/", "/", True),
        ("/", SUB, True),
        ("/", WS, True),
        ("/subscriptions/a", "/subscriptions/a/resourceGroups/b", True),
        ("/subscriptions/a", "/subscriptions/a", True),
        ("/subscriptions/a/", "/subscriptions/a", True),
        ("/subscriptions/a", "/subscriptions/a/", True),
        ("/SUBSCRIPTIONS/A", "/subscriptions/a/resourcegroups/B", True),
        ("/subscriptions/a", "/subscriptions/ab", False),
        ("/subscriptions/a/resourceGroups/b", "/subscriptions/a", False),
        ("/subscriptions/a", "/", False),
        (RG, WS, True),
        (WS, RG, False),
    ],
)
def test_scope_contains(outer: str, inner: str, expected: bool) -> None:
    assert scope_contains(outer, inner) is expected


# --- is_allowed / is_data_allowed ----------------------------------------------------------


def test_contributor() -> None:
    grants = [grant("Contributor")]
    assert not is_allowed(grants, "Microsoft.Authorization/roleAssignments/write", WS)
    assert not is_allowed(grants, "Microsoft.Authorization/roleAssignments/delete", WS)
    assert is_allowed(grants, "Microsoft.Authorization/roleAssignments/read", WS)
    assert is_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/write", WS)
    assert is_allowed(grants, f"{MLS}/workspaces/write", WS)


def test_owner_can_assign_roles_but_has_no_data_actions() -> None:
    grants = [grant("Owner")]
    assert is_allowed(grants, "Microsoft.Authorization/roleAssignments/write", WS)
    assert not is_data_allowed(grants, "Microsoft.CognitiveServices/accounts/OpenAI/x/action", WS)
    assert not is_data_allowed(grants, "anything", WS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Azure AI Developer", True),
        ("AzureML Data Scientist", True),
        ("Owner", False),
        ("Contributor", False),
        ("Reader", False),
        ("Azure AI Inference Deployment Operator", False),
    ],
)
def test_the_keyless_score_data_action(name: str, expected: bool) -> None:
    """Keyless calls need SCORE_DATA_ACTION on the endpoint: the two workspace-user roles hold it
    (a MaaS deviation) at any scope at or above it; control-plane `*` does not."""
    endpoint = f"{WS}/serverlessEndpoints/chat"
    assert f"{MLS}/workspaces/serverlessEndpoints/score/action" == SCORE_DATA_ACTION
    for scope in ("/", SUB, RG, WS, endpoint):
        assert is_data_allowed([grant(name, scope)], SCORE_DATA_ACTION, endpoint) is expected
    assert not is_data_allowed(
        [grant(name, f"{RG}/providers/{MLS}/workspaces/other")], SCORE_DATA_ACTION, endpoint
    )


def test_reader() -> None:
    grants = [grant("Reader")]
    assert is_allowed(grants, "Microsoft.SaaS/resources/read", WS)
    assert is_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/read", WS)
    assert not is_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/write", WS)
    assert not is_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/listKeys/action", WS)
    assert not is_allowed(grants, "Microsoft.Resources/resourceGroups/delete", RG)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("workspaces/serverlessEndpoints/write", True),
        ("workspaces/serverlessEndpoints/listKeys/action", True),
        ("workspaces/serverlessEndpoints/delete", True),
        ("workspaces/marketplaceModelSubscriptions/write", True),
        ("workspaces/read", True),
        ("workspaces/write", False),
        ("workspaces/delete", False),
        ("workspaces/listKeys/action", False),
        ("workspaces/hubs/write", False),
    ],
)
def test_azure_ai_developer(action: str, expected: bool) -> None:
    grants = [grant("Azure AI Developer", RG)]
    assert is_allowed(grants, f"{MLS}/{action}", WS) is expected


def test_azure_ai_developer_other_actions_and_data_actions() -> None:
    grants = [grant("Azure AI Developer", RG)]
    assert is_allowed(grants, "Microsoft.Resources/deployments/write", RG)
    assert is_allowed(grants, "Microsoft.Authorization/roleDefinitions/read", RG)
    assert not is_allowed(grants, "Microsoft.Authorization/roleAssignments/write", RG)
    assert not is_allowed(grants, "Microsoft.Storage/storageAccounts/write", RG)
    assert is_data_allowed(grants, "Microsoft.CognitiveServices/accounts/OpenAI/chat/action", WS)
    assert not is_data_allowed(grants, "Microsoft.CognitiveServices/accounts/Other/x", WS)
    # dataActions are not control-plane actions
    assert not is_allowed(grants, "Microsoft.CognitiveServices/accounts/OpenAI/chat/action", WS)


def test_azure_ai_developer_signs_marketplace_agreements_only_where_it_is_held() -> None:
    """The seed's deviation: on the subscription it may subscribe; on a resource group the
    subscription-level MarketplaceOrdering actions are out of its reach."""
    sign = "Microsoft.MarketplaceOrdering/agreements/offers/plans/sign/action"
    agreement = f"{SUB}/providers/Microsoft.MarketplaceOrdering/agreements/p/offers/o/plans/x"
    assert is_allowed([grant("Azure AI Developer", SUB)], sign, agreement)
    assert not is_allowed([grant("Azure AI Developer", RG)], sign, agreement)
    assert is_allowed(
        [grant("Azure AI Developer", RG)], "Microsoft.SaaS/resources/write", RG + "/providers/x"
    )
    assert not is_allowed([grant("AzureML Data Scientist", SUB)], sign, agreement)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("workspaces/serverlessEndpoints/write", True),
        ("workspaces/serverlessEndpoints/listKeys/action", True),
        ("workspaces/marketplaceModelSubscriptions/write", True),
        ("workspaces/read", True),
        ("workspaces/computes/read", True),
        ("workspaces/write", False),
        ("workspaces/delete", False),
        ("workspaces/listKeys/action", False),
        ("workspaces/computes/x/write", False),
        ("workspaces/computes/x/delete", False),
        ("workspaces/computes/listKeys/action", False),
    ],
)
def test_azureml_data_scientist(action: str, expected: bool) -> None:
    grants = [grant("AzureML Data Scientist", WS)]
    assert is_allowed(grants, f"{MLS}/{action}", WS) is expected


def test_inference_deployment_operator() -> None:
    grants = [grant("Azure AI Inference Deployment Operator", RG)]
    assert is_allowed(grants, "Microsoft.Resources/deployments/write", RG)
    assert is_allowed(grants, "microsoft.insights/autoscalesettings/write", RG)
    assert not is_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/write", WS)


def test_scope_inheritance_downward_only() -> None:
    at_rg = [grant("Contributor", RG)]
    assert is_allowed(at_rg, f"{MLS}/workspaces/serverlessEndpoints/write", WS)
    assert is_allowed(at_rg, "Microsoft.Resources/resourceGroups/write", RG)
    assert not is_allowed(at_rg, "Microsoft.Resources/resourceGroups/write", SUB)
    assert not is_allowed(at_rg, "Microsoft.Resources/resourceGroups/write", f"{SUB}/resourceGroups/rg10")
    at_ws = [grant("Reader", WS)]
    assert not is_allowed(at_ws, f"{MLS}/workspaces/read", RG)
    assert is_allowed([grant("Reader", "/")], f"{MLS}/workspaces/read", WS)


def test_not_action_given_back_by_second_grant() -> None:
    action = f"{MLS}/workspaces/write"
    assert not is_allowed([grant("Azure AI Developer", RG)], action, WS)
    assert is_allowed([grant("Azure AI Developer", RG), grant("Contributor", WS)], action, WS)
    # ... but only where the second grant applies
    elsewhere = f"{RG}/providers/{MLS}/workspaces/ws2"
    assert not is_allowed([grant("Azure AI Developer", RG), grant("Contributor", WS)], action, elsewhere)


def test_not_action_given_back_by_second_permission_block() -> None:
    custom = RoleDefinition(
        guid="11111111-1111-1111-1111-111111111111",
        role_name="Custom",
        description="",
        role_type="CustomRole",
        permissions=(
            Permission(actions=("Microsoft.X/*",), not_actions=("Microsoft.X/a/delete",)),
            Permission(actions=("Microsoft.X/a/delete",)),
        ),
    )
    assert is_allowed([Grant(SUB, custom)], "Microsoft.X/a/delete", SUB)


def test_not_data_actions() -> None:
    custom = RoleDefinition(
        guid="22222222-2222-2222-2222-222222222222",
        role_name="Data",
        description="",
        role_type="CustomRole",
        permissions=(
            Permission(
                actions=(),
                data_actions=("Microsoft.X/data/*",),
                not_data_actions=("Microsoft.X/data/secret/read",),
            ),
        ),
    )
    grants = [Grant(SUB, custom)]
    assert is_data_allowed(grants, "microsoft.x/DATA/public/read", RG)
    assert not is_data_allowed(grants, "Microsoft.X/data/secret/read", RG)
    assert not is_data_allowed(grants, "Microsoft.X/data/public/read", "/subscriptions/other")
    assert not is_allowed(grants, "Microsoft.X/data/public/read", RG)


def test_case_insensitive_everywhere() -> None:
    grants = [Grant(SUB.upper(), role("contributor"))]
    assert not is_allowed(grants, "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", WS.lower())
    assert is_allowed(grants, "microsoft.machinelearningservices/workspaces/write", WS.lower())


def test_no_grants_and_generators() -> None:
    assert not is_allowed([], "Microsoft.X/read", SUB)
    assert not is_data_allowed([], "Microsoft.X/read", SUB)
    assert is_allowed((g for g in [grant("Reader")]), "Microsoft.X/y/read", RG)


# --- custom roles: checked exactly as built-ins ------------------------------------------------

SEED_ROLE = RoleDefinition(
    "c0ffee00-0000-4000-8000-000000000001",
    "Permissions required to subscribe to model offerings",
    "",
    "CustomRole",
    (
        Permission(
            actions=(
                "Microsoft.SaaS/resources/read",
                "Microsoft.SaaS/resources/write",
                f"{MLS}/workspaces/marketplaceModelSubscriptions/*",
                f"{MLS}/workspaces/serverlessEndpoints/*",
            ),
            not_actions=(f"{MLS}/workspaces/serverlessEndpoints/regenerateKeys/action",),
            data_actions=("Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/*",),
        ),
    ),
    (SUB,),
)


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (f"{MLS}/workspaces/serverlessEndpoints/write", True),
        (f"{MLS}/workspaces/serverlessEndpoints/listKeys/action", True),
        (f"{MLS}/WORKSPACES/serverlessendpoints/READ", True),
        (f"{MLS}/workspaces/marketplaceModelSubscriptions/delete", True),
        ("Microsoft.SaaS/resources/read", True),
        (f"{MLS}/workspaces/serverlessEndpoints/regenerateKeys/action", False),  # notActions
        ("Microsoft.SaaS/resources/delete", False),
        (f"{MLS}/workspaces/read", False),
        (f"{MLS}/workspaces/connections/write", False),
    ],
)
def test_custom_role_actions_and_not_actions(action: str, allowed: bool) -> None:
    assert is_allowed([Grant(RG, SEED_ROLE)], action, WS) is allowed


def test_custom_role_data_actions_are_not_control_plane_actions() -> None:
    grants = [Grant(SUB, SEED_ROLE)]
    assert is_data_allowed(grants, f"{MLS}/workspaces/serverlessEndpoints/chat/action", WS)
    assert not is_data_allowed(grants, "Microsoft.SaaS/resources/read", WS)
    assert not is_allowed([Grant(RG, SEED_ROLE)], "Microsoft.SaaS/resources/read", SUB)  # not above RG


def test_a_second_custom_role_gives_back_what_notactions_took() -> None:
    keys = RoleDefinition(
        "c0ffee00-0000-4000-8000-000000000002",
        "Key rotator",
        "",
        "CustomRole",
        (Permission(actions=(f"{MLS}/workspaces/*/regenerateKeys/action",)),),
        (SUB,),
    )
    action = f"{MLS}/workspaces/serverlessEndpoints/regenerateKeys/action"
    assert not is_allowed([Grant(SUB, SEED_ROLE)], action, WS)
    assert is_allowed([Grant(SUB, SEED_ROLE), Grant(WS, keys)], action, WS)

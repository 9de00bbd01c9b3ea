from __future__ import annotations

import pytest

from maas.controlplane.api.paths import canonical_path
from support.api import Api


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "/subscriptions/S/resourcegroups/MyRG/providers/microsoft.machinelearningservices/workspaces/WS"
            "/serverlessendpoints/Ep/listkeys",
            "/subscriptions/S/resourceGroups/MyRG/providers/Microsoft.MachineLearningServices/workspaces/WS"
            "/serverlessEndpoints/Ep/listKeys",
        ),
        ("/SUBSCRIPTIONS/s/RESOURCES", "/subscriptions/s/resources"),
        ("/registries/R/MODELS/m/Versions/3", "/registries/R/models/m/versions/3"),
        ("/providers/microsoft.maas/offers/Models", "/providers/Microsoft.MaaS/offers/Models"),
        ("/health", "/health"),
    ],
)
def test_fixed_segments_take_canonical_case_and_names_keep_theirs(given: str, expected: str) -> None:
    assert canonical_path(given) == expected


def test_a_resource_named_like_a_collection_keeps_its_case() -> None:
    path = (
        "/subscriptions/s/resourceGroups/Workspaces/providers/Microsoft.MachineLearningServices"
        "/workspaces/Models"
    )
    assert canonical_path(path) == path


@pytest.mark.parametrize("segment", ["%2E%2E", "%2e", ".%2E", "%2E."])
def test_a_dot_segment_is_refused_before_any_route_sees_it(api: Api, segment: str) -> None:
    """Scopes are compared as strings: `rg-a/../rg-b` must never reach a permission check."""
    path = (
        f"/subscriptions/s/resourceGroups/rg-a/{segment}/rg-b/providers/Microsoft.Authorization"
        "/roleAssignments?api-version=2022-04-01"
    )
    response = api.client.get(path, headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "InvalidRequestUri"

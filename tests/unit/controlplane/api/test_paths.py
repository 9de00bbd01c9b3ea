from __future__ import annotations

import pytest

from maas.controlplane.api.paths import canonical_path


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

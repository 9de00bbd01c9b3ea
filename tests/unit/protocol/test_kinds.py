"""The kinds registry: one entry per ARM type, and every deployable kind has its behaviour."""

from __future__ import annotations

import pytest

from maas.controlplane.api.paths import canonical_path
from maas.controlplane.services.kinds import DEPLOYABLE
from maas.protocol.management import kinds


def test_every_deployable_kind_has_a_behaviour_and_nothing_else_does() -> None:
    assert set(DEPLOYABLE) == {k for k in kinds.KINDS if k.deployable}


def test_a_deployable_kind_names_its_body_and_name_rule() -> None:
    for kind in DEPLOYABLE:
        assert kind.body is not None and kind.name_rule is not None, kind.label


def test_arm_types_are_unique_and_found_in_any_case() -> None:
    types = [k.arm_type.lower() for k in kinds.KINDS]
    assert len(types) == len(set(types))
    assert kinds.by_type("microsoft.machinelearningservices/WORKSPACES/serverlessendpoints") is (
        kinds.SERVERLESS_ENDPOINT
    )
    assert kinds.by_type("Microsoft.Nope/things") is None


def test_a_kind_parent_is_a_kind_and_its_collection_ends_its_type() -> None:
    for kind in kinds.KINDS:
        assert kind.parent is None or kind.parent in kinds.KINDS
        assert kind.arm_type.endswith("/" + kind.collection)


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (
            kinds.MARKETPLACE_SUBSCRIPTION,
            "Microsoft.MachineLearningServices/workspaces/marketplaceModelSubscriptions",
        ),
        (kinds.RESOURCE_GROUP, "Microsoft.Resources/subscriptions/resourceGroups"),
        (kinds.SERVERLESS_ENDPOINT, "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"),
    ],
)
def test_rbac_actions_follow_azure_not_always_the_type(kind: kinds.Kind, action: str) -> None:
    assert (kind.read, kind.write, kind.delete) == (f"{action}/read", f"{action}/write", f"{action}/delete")


def test_every_collection_word_is_canonicalised_in_paths() -> None:
    for kind in kinds.KINDS:
        path = f"/{kind.collection.lower()}/x/providers/{kind.namespace.lower()}/{kind.collection.lower()}/y"
        assert canonical_path(path) == f"/{kind.collection}/x/providers/{kind.namespace}/{kind.collection}/y"

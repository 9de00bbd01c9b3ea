"""The names Studio's deploy wizard suggests: the model's name and a random suffix, as Azure's
wizard prefills them, always within the serverless endpoint and subscription name rules."""

from __future__ import annotations

import re

import pytest

from maas.controlplane.services.serverless_deploy import subscription_name, suggested_endpoint_name
from maas.protocol.management.naming import ResourceKind, validate_name


def test_the_model_name_and_four_random_letters() -> None:
    name = suggested_endpoint_name("Meta-Llama-3-8B-Instruct")
    assert re.fullmatch(r"Meta-Llama-3-8B-Instruct-[a-z]{4}", name)
    assert len({suggested_endpoint_name("m") for _ in range(20)}) > 1  # random, not fixed


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("Phi-3.5-mini_instruct", "Phi-3-5-mini-instruct-abcd"),
        ("3b-model", "m-3b-model-abcd"),
        ("...", "m-abcd"),
        ("a" * 200, "a" * 47 + "-abcd"),
        ("x" * 46 + "-yy", "x" * 46 + "-abcd"),  # no '-' left before the suffix's own
    ],
)
def test_other_characters_and_lengths_stay_within_the_rule(model: str, expected: str) -> None:
    name = suggested_endpoint_name(model, "abcd")
    assert name == expected
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)


@pytest.mark.parametrize(
    ("model", "expected"),
    [("Meta-Llama-3-8B-Instruct", "Meta-Llama-3-8B-Instruct"), ("phi-3.5", "phi-3-5"), ("_x", "x")],
)
def test_subscription_names_follow_the_model(model: str, expected: str) -> None:
    assert subscription_name(model) == expected
    validate_name(ResourceKind.MARKETPLACE_SUBSCRIPTION, subscription_name(model))

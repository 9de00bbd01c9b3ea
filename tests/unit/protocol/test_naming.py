"""Unit tests for maas.protocol.management.naming (resource name rules)."""

from __future__ import annotations

import pytest

from maas.core.errors import BadRequest
from maas.protocol.management.naming import ResourceKind, validate_name

K = ResourceKind
GUID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

VALID: list[tuple[ResourceKind, str]] = [
    (K.QUOTA_REQUEST, GUID),
    (K.QUOTA_REQUEST, "raise-for-launch_2"),
    (K.QUOTA_REQUEST, "q" * 64),
    (K.SERVERLESS_ENDPOINT, "myserverless-text-1234ss"),
    (K.SERVERLESS_ENDPOINT, "a"),
    (K.SERVERLESS_ENDPOINT, "a" * 52),
    (K.SERVERLESS_ENDPOINT, "Phi-3-mini"),
    (K.SERVERLESS_ENDPOINT, "a-"),
    (K.MARKETPLACE_SUBSCRIPTION, "Phi-3-mini-4k-instruct"),
    (K.MARKETPLACE_SUBSCRIPTION, "0_sub"),
    (K.MARKETPLACE_SUBSCRIPTION, "x" * 255),
    (K.WORKSPACE, "abc"),
    (K.WORKSPACE, "a" * 33),
    (K.WORKSPACE, "my_ws-1"),
    (K.WORKSPACE, "1ws"),
    (K.RESOURCE_GROUP, "rg"),
    (K.RESOURCE_GROUP, "r"),
    (K.RESOURCE_GROUP, "my.rg_(test)-1"),
    (K.RESOURCE_GROUP, "-leading"),
    (K.RESOURCE_GROUP, ".leading-dot"),
    (K.RESOURCE_GROUP, "grüppe"),
    (K.RESOURCE_GROUP, "g" * 90),
    (K.DEPLOYMENT, "main"),
    (K.DEPLOYMENT, "deploy_(1)-x.y"),
    (K.DEPLOYMENT, "d" * 64),
    (K.DEPLOYMENT, "ends."),
    (K.CONNECTION, "my-conn_1"),
    (K.CONNECTION, "c" * 255),
    (K.SUBSCRIPTION_ID, GUID),
    (K.SUBSCRIPTION_ID, "local-sub"),
    (K.SUBSCRIPTION_ID, "s" * 64),
    (K.REGISTRY, "azureml"),
    (K.REGISTRY, "azureml-meta"),
    (K.REGISTRY, "r" * 255),
    (K.MODEL, "Phi-3.5-mini-instruct"),
    (K.MODEL, "Meta-Llama-3.1-8B-Instruct"),
    (K.MODEL, "m_1"),
    (K.MODEL_VERSION, "1"),
    (K.MODEL_VERSION, "2024-05-13"),
    (K.MODEL_VERSION, "v1.2.3"),
    (K.MODEL_VERSION, "9" * 64),
    (K.OFFER, "phi-3-offer"),
    (K.OFFER, "o" * 128),
    (K.ROLE_ASSIGNMENT, GUID),
    (K.ROLE_ASSIGNMENT, GUID.upper()),
    (K.ROLE_DEFINITION, GUID),
    (K.DEPLOYMENT, "Main"),
    (K.PRINCIPAL, "alice@example.com"),
    (K.PRINCIPAL, GUID),
    (K.PRINCIPAL, "svc.bot_1"),
    (K.PRINCIPAL, "p" * 128),
    (K.USER, "alice@contoso.example"),
    (K.USER, "admin"),
    (K.SERVICE_PRINCIPAL, GUID),
    (K.SERVICE_PRINCIPAL, GUID.upper()),
]

INVALID: list[tuple[ResourceKind, str]] = [
    (K.QUOTA_REQUEST, ""),
    (K.QUOTA_REQUEST, "-leading"),
    (K.QUOTA_REQUEST, "q" * 65),
    (K.QUOTA_REQUEST, "a.b"),
    (K.SERVERLESS_ENDPOINT, ""),
    (K.SERVERLESS_ENDPOINT, "a" * 53),
    (K.SERVERLESS_ENDPOINT, "x_y"),
    (K.SERVERLESS_ENDPOINT, "1abc"),
    (K.SERVERLESS_ENDPOINT, "-abc"),
    (K.SERVERLESS_ENDPOINT, "a.b"),
    (K.SERVERLESS_ENDPOINT, "abc\n"),
    (K.SERVERLESS_ENDPOINT, "ab c"),
    (K.MARKETPLACE_SUBSCRIPTION, ""),
    (K.MARKETPLACE_SUBSCRIPTION, "Phi-3.5-mini"),
    (K.MARKETPLACE_SUBSCRIPTION, "_sub"),
    (K.MARKETPLACE_SUBSCRIPTION, "x" * 256),
    (K.WORKSPACE, "ab"),
    (K.WORKSPACE, "a" * 34),
    (K.WORKSPACE, "-abc"),
    (K.WORKSPACE, "_abc"),
    (K.WORKSPACE, "a.bc"),
    (K.WORKSPACE, ""),
    (K.RESOURCE_GROUP, ""),
    (K.RESOURCE_GROUP, "rg."),
    (K.RESOURCE_GROUP, "."),
    (K.RESOURCE_GROUP, "g" * 91),
    (K.RESOURCE_GROUP, "rg/x"),
    (K.RESOURCE_GROUP, "rg x"),
    (K.RESOURCE_GROUP, "rg\n"),
    (K.DEPLOYMENT, ""),
    (K.DEPLOYMENT, "d" * 65),
    (K.DEPLOYMENT, "a/b"),
    (K.DEPLOYMENT, "a b"),
    (K.CONNECTION, ""),
    (K.CONNECTION, "-conn"),
    (K.CONNECTION, "a.b"),
    (K.CONNECTION, "c" * 256),
    (K.SUBSCRIPTION_ID, ""),
    (K.SUBSCRIPTION_ID, "s" * 65),
    (K.SUBSCRIPTION_ID, "a_b"),
    (K.SUBSCRIPTION_ID, "a/b"),
    (K.REGISTRY, ""),
    (K.REGISTRY, ".azureml"),
    (K.REGISTRY, "r" * 256),
    (K.REGISTRY, "a b"),
    (K.MODEL, ""),
    (K.MODEL, "-model"),
    (K.MODEL, "m" * 256),
    (K.MODEL, "a/b"),
    (K.MODEL_VERSION, ""),
    (K.MODEL_VERSION, ".1"),
    (K.MODEL_VERSION, "9" * 65),
    (K.MODEL_VERSION, "1 2"),
    (K.OFFER, ""),
    (K.OFFER, "o" * 129),
    (K.OFFER, "_offer"),
    (K.ROLE_ASSIGNMENT, ""),
    (K.ROLE_ASSIGNMENT, "not-a-guid"),
    (K.ROLE_ASSIGNMENT, GUID[:-1]),
    (K.ROLE_ASSIGNMENT, GUID + "0"),
    (K.ROLE_ASSIGNMENT, GUID.replace("-", "")),
    (K.ROLE_ASSIGNMENT, "{" + GUID + "}"),
    (K.ROLE_ASSIGNMENT, "g" + GUID[1:]),
    (K.ROLE_DEFINITION, "not-a-guid"),
    (K.PRINCIPAL, ""),
    (K.PRINCIPAL, "@alice"),
    (K.PRINCIPAL, "p" * 129),
    (K.PRINCIPAL, "a b"),
    (K.USER, ""),
    (K.USER, "@alice"),
    (K.USER, "a/b"),
    (K.SERVICE_PRINCIPAL, "my-app"),
    (K.SERVICE_PRINCIPAL, GUID[:-1]),
]


@pytest.mark.parametrize(("kind", "name"), VALID)
def test_valid(kind: ResourceKind, name: str) -> None:
    validate_name(kind, name)


@pytest.mark.parametrize(("kind", "name"), INVALID)
def test_invalid(kind: ResourceKind, name: str) -> None:
    with pytest.raises(BadRequest) as info:
        validate_name(kind, name)
    err = info.value
    assert err.code == "InvalidResourceName"
    assert err.target == "name"
    assert err.status == 400
    assert "is invalid: it must" in err.message


def test_every_kind_has_examples() -> None:
    assert {k for k, _ in VALID} == set(ResourceKind)
    assert {k for k, _ in INVALID} == set(ResourceKind)


def test_message_quotes_name_and_states_rule() -> None:
    with pytest.raises(BadRequest) as info:
        validate_name(ResourceKind.SERVERLESS_ENDPOINT, "x_y")
    assert info.value.message == (
        "The serverless endpoint name 'x_y' is invalid: it must start with a letter and contain "
        "only letters, digits and '-', 1 to 52 characters."
    )


def test_resource_group_message_mentions_trailing_period() -> None:
    with pytest.raises(BadRequest) as info:
        validate_name(ResourceKind.RESOURCE_GROUP, "rg.")
    assert "'rg.'" in info.value.message
    assert "not end with '.'" in info.value.message


def test_long_and_unprintable_names_are_shortened_in_message() -> None:
    with pytest.raises(BadRequest) as info:
        validate_name(ResourceKind.WORKSPACE, "a" * 5000)
    assert len(info.value.message) < 400
    with pytest.raises(BadRequest) as info:
        validate_name(ResourceKind.WORKSPACE, "ab\ncd")
    assert "'ab\\ncd'" in info.value.message


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(BadRequest) as info:
        validate_name(ResourceKind.MODEL, None)  # type: ignore[arg-type]
    assert info.value.code == "InvalidResourceName"


def test_resource_kind_is_str_enum() -> None:
    assert ResourceKind("serverless_endpoint") is ResourceKind.SERVERLESS_ENDPOINT
    assert str(ResourceKind.WORKSPACE) == "workspace"
    assert len(ResourceKind) == 17

"""Name rules for every resource MaaS lets a client name.

Azure Resource Manager rejects bad names before anything else happens, and clients rely on
that (a Bicep template that deploys on Azure must fail here the same way). Keeping the rules in
one table means the API layer, the template engine and the services all reject the same names
with the same words.

What it guarantees:

* ``validate_name`` accepts exactly the names the rule for ``kind`` allows (the ARM/swagger
  patterns where Azure publishes one) and returns ``None``.
* Otherwise it raises ``BadRequest`` with code ``InvalidResourceName`` and target ``name``; the
  message quotes the name and states the rule in plain words.
* Whole-string matching: a trailing newline or any other extra character is never accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from maas.core.errors import BadRequest

__all__ = ["ResourceKind", "validate_name"]

_ERROR_CODE = "InvalidResourceName"
_MAX_QUOTED = 100  # longer names are shortened in the message so errors stay readable


class ResourceKind(StrEnum):
    """The kinds of names MaaS validates."""

    SERVERLESS_ENDPOINT = "serverless_endpoint"
    MARKETPLACE_SUBSCRIPTION = "marketplace_subscription"
    WORKSPACE = "workspace"
    RESOURCE_GROUP = "resource_group"
    CONNECTION = "connection"
    SUBSCRIPTION_ID = "subscription_id"
    REGISTRY = "registry"
    MODEL = "model"
    MODEL_VERSION = "model_version"
    OFFER = "offer"
    ROLE_ASSIGNMENT = "role_assignment"
    ROLE_DEFINITION = "role_definition"
    DEPLOYMENT = "deployment"
    PRINCIPAL = "principal"
    USER = "user"
    SERVICE_PRINCIPAL = "service_principal"
    QUOTA_REQUEST = "quota_request"


@dataclass(frozen=True)
class _Rule:
    label: str  # e.g. "serverless endpoint name"
    pattern: re.Pattern[str]  # matched with fullmatch
    rule: str  # plain words, completing "it must ..."
    not_ending_with: str = ""  # a suffix the name must not have (resource groups: ".")


def _rule(label: str, pattern: str, rule: str, not_ending_with: str = "") -> _Rule:
    return _Rule(label, re.compile(pattern), rule, not_ending_with)


_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

_RULES: Mapping[ResourceKind, _Rule] = MappingProxyType(
    {
        # bicep-types machinelearningservices 2024-04-01-preview: workspaces/serverlessEndpoints
        ResourceKind.SERVERLESS_ENDPOINT: _rule(
            "serverless endpoint name",
            r"[a-zA-Z][a-zA-Z0-9-]{0,51}",
            "start with a letter and contain only letters, digits and '-', 1 to 52 characters",
        ),
        # same file: workspaces/marketplaceSubscriptions (no '.')
        ResourceKind.MARKETPLACE_SUBSCRIPTION: _rule(
            "marketplace subscription name",
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}",
            "start with a letter or digit and contain only letters, digits, '-' and '_', 1 to 255 characters",
        ),
        # same file: workspaces
        ResourceKind.WORKSPACE: _rule(
            "workspace name",
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
            "start with a letter or digit and contain only letters, digits, '-' and '_', 3 to 33 characters",
        ),
        # resources swagger ^[-\w\._\(\)]+$ (Unicode \w), max 90, can't end with a period
        ResourceKind.RESOURCE_GROUP: _rule(
            "resource group name",
            r"[-\w.()]{1,90}",
            "contain only letters, digits, '-', '_', '.', '(' and ')', 1 to 90 characters, "
            "and not end with '.'",
            not_ending_with=".",
        ),
        ResourceKind.DEPLOYMENT: _rule(
            "deployment name",
            r"[a-zA-Z0-9_()\-.]{1,64}",
            "contain only letters, digits, '_', '(', ')', '-' and '.', 1 to 64 characters",
        ),
        ResourceKind.CONNECTION: _rule(
            "connection name",
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}",
            "start with a letter or digit and contain only letters, digits, '-' and '_', 1 to 255 characters",
        ),
        ResourceKind.SUBSCRIPTION_ID: _rule(
            "subscription ID",
            r"[a-zA-Z0-9-]{1,64}",
            "contain only letters, digits and '-', 1 to 64 characters",
        ),
        ResourceKind.REGISTRY: _rule(
            "registry name",
            r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}",
            "start with a letter or digit and contain only letters, digits, '.', '_' and '-', "
            "1 to 255 characters",
        ),
        ResourceKind.MODEL: _rule(
            "model name",
            r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}",
            "start with a letter or digit and contain only letters, digits, '.', '_' and '-', "
            "1 to 255 characters",
        ),
        ResourceKind.MODEL_VERSION: _rule(
            "model version",
            r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}",
            "start with a letter or digit and contain only letters, digits, '.', '_' and '-', "
            "1 to 64 characters",
        ),
        ResourceKind.OFFER: _rule(
            "offer name",
            r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}",
            "start with a letter or digit and contain only letters, digits, '.', '_' and '-', "
            "1 to 128 characters",
        ),
        # specs authorization: the role assignment name "can be any valid GUID"
        ResourceKind.ROLE_ASSIGNMENT: _rule(
            "role assignment name",
            _GUID,
            "be a GUID such as '00000000-0000-0000-0000-000000000000'",
        ),
        # specs authorization: a role definition's name is its GUID
        ResourceKind.ROLE_DEFINITION: _rule(
            "role definition name",
            _GUID,
            "be a GUID such as '00000000-0000-0000-0000-000000000000'",
        ),
        ResourceKind.PRINCIPAL: _rule(
            "principal name",
            r"[a-zA-Z0-9][a-zA-Z0-9._@-]{0,127}",
            "start with a letter or digit and contain only letters, digits, '.', '_', '@' "
            "and '-', 1 to 128 characters",
        ),
        ResourceKind.USER: _rule(
            "user principal name",
            r"[a-zA-Z0-9][a-zA-Z0-9._@-]{0,127}",
            "start with a letter or digit and contain only letters, digits, '.', '_', '@' "
            "and '-', 1 to 128 characters",
        ),
        # az ad sp: the application id is a GUID
        ResourceKind.SERVICE_PRINCIPAL: _rule(
            "application id",
            _GUID,
            "be a GUID such as '00000000-0000-0000-0000-000000000000'",
        ),
        # MaaS's own (a GUID fits, as Azure's quota request ids are)
        ResourceKind.QUOTA_REQUEST: _rule(
            "quota request name",
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}",
            "start with a letter or digit and contain only letters, digits, '-' and '_', 1 to 64 characters",
        ),
    }
)


def _quote(name: str) -> str:
    shown = name if len(name) <= _MAX_QUOTED else name[:_MAX_QUOTED] + "..."
    if not shown.isprintable():
        shown = shown.encode("unicode_escape").decode("ascii")
    return f"'{shown}'"


def validate_name(kind: ResourceKind, name: str) -> None:
    """Raise ``BadRequest`` (code ``InvalidResourceName``) unless ``name`` is valid for ``kind``."""
    rule = _RULES[kind]
    if not isinstance(name, str):
        raise BadRequest(f"The {rule.label} must be a string.", code=_ERROR_CODE, target="name")
    valid = rule.pattern.fullmatch(name) is not None
    if valid and rule.not_ending_with and name.endswith(rule.not_ending_with):
        valid = False
    if not valid:
        raise BadRequest(
            f"The {rule.label} {_quote(name)} is invalid: it must {rule.rule}.",
            code=_ERROR_CODE,
            target="name",
        )


def normalise_location(location: str, *, target: str = "location") -> str:
    """ARM's canonical region form: 'East US 2' → 'eastus2'. A blank location is refused."""
    normalised = "".join(location.split()).lower()
    if not normalised:
        raise BadRequest(
            "The location must name a region, such as 'eastus2'.", code="InvalidLocation", target=target
        )
    return normalised

"""Azure RBAC semantics: built-in role definitions and the permission check.

MaaS answers "may this principal do this action at this scope?" the way Azure Resource Manager
does, so that clients written against Azure (az CLI, SDKs, Bicep) see the same behaviour. This
module holds the pure part of that answer; storing assignments and resolving principals is the
services' job.

What it guarantees:

* ``BUILTIN_ROLES`` carries the published built-in roles MaaS supports, with their GUIDs,
  descriptions and action lists copied exactly (strings and case) from the Azure docs, save two
  deviations: the one the seed asks for (``MARKETPLACE_SUBSCRIBE_ACTIONS`` in Azure AI Developer)
  and the data action of keyless endpoint calls (``SCORE_DATA_ACTION`` in Azure AI Developer and
  AzureML Data Scientist).
* ``action_matches`` is case-insensitive; ``*`` matches any run of characters (``/`` and the empty
  run included) and a ``/*/`` segment also matches a single ``/``, so
  ``workspaces/*/write`` covers both ``workspaces/write`` and ``workspaces/x/write``.
* ``scope_contains`` implements downward inheritance of assignment scopes on path-segment
  boundaries, case-insensitively.
* ``is_allowed`` / ``is_data_allowed`` compute the effective permission as the union, over the
  grants at or above the scope, of (actions minus notActions) of each permission block.
  NotActions are not deny rules, and control-plane ``*`` never grants data actions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BUILTIN_ROLES",
    "SCORE_DATA_ACTION",
    "Grant",
    "Permission",
    "RoleDefinition",
    "action_matches",
    "find_builtin_role",
    "is_allowed",
    "is_data_allowed",
    "scope_contains",
]

_ROLE_DEFINITIONS_PREFIX = "/providers/Microsoft.Authorization/roleDefinitions/"
_ROLE_TYPES = ("BuiltInRole", "CustomRole")

# Deviation: the seed ("Permissions required to subscribe to model offerings") says the Azure AI
# Developer role *on the subscription* suffices to subscribe a workspace to a marketplace offer,
# but the role Azure publishes grants none of the subscription- and resource-group-level actions
# that subscribing checks. MaaS follows the seed: its Azure AI Developer also holds these (the
# seed's own list), so held on the subscription it subscribes; held on a resource group or a
# workspace it does not (the MarketplaceOrdering and SaaS register actions are checked on the
# subscription), as the seed's "for the Azure subscription" says.
MARKETPLACE_SUBSCRIBE_ACTIONS = (
    "Microsoft.MarketplaceOrdering/agreements/offers/plans/read",
    "Microsoft.MarketplaceOrdering/agreements/offers/plans/sign/action",
    "Microsoft.MarketplaceOrdering/offerTypes/publishers/offers/plans/agreements/read",
    "Microsoft.Marketplace/offerTypes/publishers/offers/plans/agreements/read",
    "Microsoft.SaaS/register/action",
    "Microsoft.SaaS/resources/read",
    "Microsoft.SaaS/resources/write",
)

# The data action a keyless call to a serverless endpoint's Target URI needs (an access token
# instead of a key), checked on the endpoint, so held at the endpoint, its workspace, resource
# group, subscription or `/`. Named after Azure ML's `onlineEndpoints/score/action` but kept as a
# *data* action, as Azure's inference services keep theirs (`Microsoft.CognitiveServices/accounts/
# MaaS/*`, `…/OpenAI/*`): control-plane `*` does not carry it, so Owner and Contributor manage an
# endpoint (and may list its keys) without calling it keylessly. Deviation: Azure's published Azure
# AI Developer and AzureML Data Scientist roles do not list it; MaaS adds it to both, since Azure
# documents both as the roles that use a workspace's endpoints (docs/security.md, "Keyless calls
# to endpoints").
SCORE_DATA_ACTION = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/score/action"


@dataclass(frozen=True)
class Permission:
    """One ``permissions[]`` block of a role definition."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleDefinition:
    """A role definition as ARM describes it (``roleName``, ``roleType``, ``permissions``...)."""

    guid: str
    role_name: str
    description: str
    role_type: str
    permissions: tuple[Permission, ...]
    assignable_scopes: tuple[str, ...] = ("/",)

    def __post_init__(self) -> None:
        if self.role_type not in _ROLE_TYPES:
            raise ValueError(f"role_type must be one of {_ROLE_TYPES}, not {self.role_type!r}")

    @property
    def id(self) -> str:
        """The tenant-form role-definition id, as ARM returns it in responses."""
        return f"{_ROLE_DEFINITIONS_PREFIX}{self.guid}"


@dataclass(frozen=True)
class Grant:
    """A role assigned at a scope (the part of a role assignment the check needs)."""

    scope: str
    role: RoleDefinition


_MLS_WORKSPACE_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/*/read",
    "Microsoft.MachineLearningServices/workspaces/*/action",
    "Microsoft.MachineLearningServices/workspaces/*/delete",
    "Microsoft.MachineLearningServices/workspaces/*/write",
)

BUILTIN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        guid="8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        role_name="Owner",
        description=(
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC."
        ),
        role_type="BuiltInRole",
        permissions=(Permission(actions=("*",)),),
    ),
    RoleDefinition(
        guid="b24988ac-6180-42a0-ab88-20f7382dd24c",
        role_name="Contributor",
        description=(
            "Grants full access to manage all resources, but does not allow you to assign roles "
            "in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries."
        ),
        role_type="BuiltInRole",
        permissions=(
            Permission(
                actions=("*",),
                not_actions=(
                    "Microsoft.Authorization/*/Delete",
                    "Microsoft.Authorization/*/Write",
                    "Microsoft.Authorization/elevateAccess/Action",
                    "Microsoft.Blueprint/blueprintAssignments/write",
                    "Microsoft.Blueprint/blueprintAssignments/delete",
                    "Microsoft.Compute/galleries/share/action",
                    "Microsoft.Purview/consents/write",
                    "Microsoft.Purview/consents/delete",
                ),
            ),
        ),
    ),
    RoleDefinition(
        guid="acdd72a7-3385-48ef-bd42-f606fba81ae7",
        role_name="Reader",
        description="View all resources, but does not allow you to make any changes.",
        role_type="BuiltInRole",
        permissions=(Permission(actions=("*/read",)),),
    ),
    RoleDefinition(
        guid="64702f94-c441-49e6-a78b-ef80e0188fee",
        role_name="Azure AI Developer",
        description=(
            "Can perform all actions within an Azure AI resource besides managing the resource itself."
        ),
        role_type="BuiltInRole",
        permissions=(
            Permission(
                actions=(
                    *_MLS_WORKSPACE_ACTIONS,
                    "Microsoft.MachineLearningServices/locations/*/read",
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Resources/deployments/*",
                    *MARKETPLACE_SUBSCRIBE_ACTIONS,
                ),
                not_actions=(
                    "Microsoft.MachineLearningServices/workspaces/delete",
                    "Microsoft.MachineLearningServices/workspaces/write",
                    "Microsoft.MachineLearningServices/workspaces/listKeys/action",
                    "Microsoft.MachineLearningServices/workspaces/hubs/write",
                    "Microsoft.MachineLearningServices/workspaces/hubs/delete",
                    "Microsoft.MachineLearningServices/workspaces/featurestores/write",
                    "Microsoft.MachineLearningServices/workspaces/featurestores/delete",
                ),
                data_actions=(
                    "Microsoft.CognitiveServices/accounts/OpenAI/*",
                    "Microsoft.CognitiveServices/accounts/SpeechServices/*",
                    "Microsoft.CognitiveServices/accounts/ContentSafety/*",
                    SCORE_DATA_ACTION,
                ),
            ),
        ),
    ),
    RoleDefinition(
        guid="f6c7c914-8db3-469d-8ca1-694a8f32e121",
        role_name="AzureML Data Scientist",
        description=(
            "Can perform all actions within an Azure Machine Learning workspace, except for "
            "creating or deleting compute resources and modifying the workspace itself."
        ),
        role_type="BuiltInRole",
        permissions=(
            Permission(
                actions=_MLS_WORKSPACE_ACTIONS,
                not_actions=(
                    "Microsoft.MachineLearningServices/workspaces/delete",
                    "Microsoft.MachineLearningServices/workspaces/write",
                    "Microsoft.MachineLearningServices/workspaces/computes/*/write",
                    "Microsoft.MachineLearningServices/workspaces/computes/*/delete",
                    "Microsoft.MachineLearningServices/workspaces/computes/listKeys/action",
                    "Microsoft.MachineLearningServices/workspaces/listKeys/action",
                    "Microsoft.MachineLearningServices/workspaces/hubs/write",
                    "Microsoft.MachineLearningServices/workspaces/hubs/delete",
                    "Microsoft.MachineLearningServices/workspaces/featurestores/write",
                    "Microsoft.MachineLearningServices/workspaces/featurestores/delete",
                ),
                data_actions=(SCORE_DATA_ACTION,),
            ),
        ),
    ),
    RoleDefinition(
        guid="3afb7f49-54cb-416e-8c09-6dc049efa503",
        role_name="Azure AI Inference Deployment Operator",
        description=(
            "Can perform all actions required to create a resource deployment within a resource group."
        ),
        role_type="BuiltInRole",
        permissions=(
            Permission(
                actions=(
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Insights/AutoscaleSettings/write",
                ),
            ),
        ),
    ),
)

# Lower-cased role name and GUID -> role. Built once from the immutable tuple above.
_BUILTIN_BY_KEY: Mapping[str, RoleDefinition] = MappingProxyType(
    {key: role for role in BUILTIN_ROLES for key in (role.role_name.lower(), role.guid.lower())}
)

_ROLE_DEFINITION_ID = re.compile(
    r"(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)/?",
    re.IGNORECASE,
)


def find_builtin_role(key: str) -> RoleDefinition | None:
    """Look up a built-in role by name (any case), GUID, or role-definition id.

    Both id forms ARM uses are accepted: the tenant form
    ``/providers/Microsoft.Authorization/roleDefinitions/{guid}`` (responses) and the subscription
    form ``/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}``
    (requests). Returns ``None`` when nothing matches.
    """
    text = key.strip()
    match = _ROLE_DEFINITION_ID.fullmatch(text)
    if match is not None:
        text = match.group(1)
    return _BUILTIN_BY_KEY.get(text.lower())


@functools.lru_cache(maxsize=1024)
def _compile_action_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/*/", i):
            # "/*/" matches "/.../" or a single "/": emit the optional middle and leave the
            # closing "/" to be matched literally (it may itself open another "/*/").
            parts.append("(?:/.*)?")
            i += 2
        elif pattern[i] == "*":
            parts.append(".*")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an action pattern from a role definition covers a concrete action string."""
    return _compile_action_pattern(pattern).fullmatch(action) is not None


def _normalize_scope(scope: str) -> str:
    return scope.strip().rstrip("/").lower()


def scope_contains(outer: str, inner: str) -> bool:
    """Whether an assignment at ``outer`` applies at ``inner`` (``outer`` is ``inner`` or above).

    Comparison is case-insensitive, on whole path segments, ignoring a trailing slash; the root
    scope ``/`` contains every scope.
    """
    outer_n = _normalize_scope(outer)
    inner_n = _normalize_scope(inner)
    if not outer_n:
        return True
    return inner_n == outer_n or inner_n.startswith(outer_n + "/")


def _any_match(patterns: Iterable[str], action: str) -> bool:
    return any(action_matches(pattern, action) for pattern in patterns)


def is_allowed(grants: Iterable[Grant], action: str, scope: str) -> bool:
    """Whether the grants give the control-plane ``action`` at ``scope``.

    The effective set is the union, over grants whose scope contains ``scope``, of
    (actions minus notActions) of each permission block; a notAction in one block does not take
    away what another block or another grant gives.
    """
    for grant in grants:
        if not scope_contains(grant.scope, scope):
            continue
        for permission in grant.role.permissions:
            if _any_match(permission.actions, action) and not _any_match(permission.not_actions, action):
                return True
    return False


def is_data_allowed(grants: Iterable[Grant], data_action: str, scope: str) -> bool:
    """Whether the grants give ``data_action`` at ``scope`` (dataActions minus notDataActions).

    Control-plane actions, including ``*``, never count here.
    """
    for grant in grants:
        if not scope_contains(grant.scope, scope):
            continue
        for permission in grant.role.permissions:
            if _any_match(permission.data_actions, data_action) and not _any_match(
                permission.not_data_actions, data_action
            ):
                return True
    return False

"""The kinds of resource MaaS serves: one entry per ARM type, the single home of its wire facts.

A `Kind` says what a client and the server both need to know about a resource type: its ARM
type, the collection word in its path, its parent kind, the rule its names follow, the body its
PUT takes, the RBAC action prefix its operations check (`{action}/read|write|delete`), and
whether a template deployment may create it. The server's path canonicalisation, template
deployments, generic listing and the clients loop over `KINDS`; the behaviour of each kind (its
service) is attached on the server side in `maas.controlplane.services.kinds`.

Adding a resource type is one entry here (with its body model and name rule) plus its service and
routes; nothing else lists types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import BaseModel

from maas.core import ids
from maas.protocol.management.access import PrincipalBody, RoleAssignmentBody, RoleDefinitionBody
from maas.protocol.management.accounts import AccountBody, ResourceGroupBody
from maas.protocol.management.catalog import ModelVersionBody, RegistryBody
from maas.protocol.management.deployments import DeploymentBody
from maas.protocol.management.directory import ServicePrincipalBody, UserBody
from maas.protocol.management.endpoints import EndpointBody
from maas.protocol.management.marketplace import MarketplaceSubscriptionBody, OfferBody
from maas.protocol.management.naming import ResourceKind
from maas.protocol.management.quota_requests import QuotaRequestBody
from maas.protocol.management.workspaces import ConnectionBody, WorkspaceBody

__all__ = ["KINDS", "Kind", "by_type", "fixed_path_words"]


@dataclass(frozen=True)
class Kind:
    """What a resource type is on the wire. `action` is the prefix of its Azure RBAC actions:
    usually the ARM type, but not always (marketplace subscriptions check
    `.../marketplaceModelSubscriptions/*`, resource groups
    `Microsoft.Resources/subscriptions/resourceGroups/*`)."""

    label: str  # in words, for messages: "serverless endpoint"
    arm_type: str
    collection: str  # the path word before the name: "serverlessEndpoints"
    parent: Kind | None
    name_rule: ResourceKind | None
    body: type[BaseModel] | None  # what PUT takes; None where clients cannot PUT it
    action: str
    deployable: bool = False  # a template deployment may create it

    @property
    def read(self) -> str:
        return f"{self.action}/read"

    @property
    def write(self) -> str:
        return f"{self.action}/write"

    @property
    def delete(self) -> str:
        return f"{self.action}/delete"

    @property
    def namespace(self) -> str:
        return self.arm_type.split("/", 1)[0]


def _kind(
    label: str,
    arm_type: str,
    parent: Kind | None,
    name_rule: ResourceKind | None,
    body: type[BaseModel] | None,
    *,
    action: str | None = None,
    deployable: bool = False,
) -> Kind:
    return Kind(
        label, arm_type, arm_type.rsplit("/", 1)[1], parent, name_rule, body, action or arm_type, deployable
    )


SUBSCRIPTION = _kind("subscription", ids.SUBSCRIPTION_TYPE, None, ResourceKind.SUBSCRIPTION_ID, AccountBody)
RESOURCE_GROUP = _kind(
    "resource group",
    ids.RESOURCE_GROUP_TYPE,
    SUBSCRIPTION,
    ResourceKind.RESOURCE_GROUP,
    ResourceGroupBody,
    action="Microsoft.Resources/subscriptions/resourceGroups",
)
WORKSPACE = _kind(
    "workspace", ids.WORKSPACE_TYPE, RESOURCE_GROUP, ResourceKind.WORKSPACE, WorkspaceBody, deployable=True
)
MARKETPLACE_SUBSCRIPTION = _kind(
    "marketplace subscription",
    ids.MARKETPLACE_SUBSCRIPTION_TYPE,
    WORKSPACE,
    ResourceKind.MARKETPLACE_SUBSCRIPTION,
    MarketplaceSubscriptionBody,
    action=f"{ids.ML}/workspaces/marketplaceModelSubscriptions",
    deployable=True,
)
SERVERLESS_ENDPOINT = _kind(
    "serverless endpoint",
    ids.ENDPOINT_TYPE,
    WORKSPACE,
    ResourceKind.SERVERLESS_ENDPOINT,
    EndpointBody,
    deployable=True,
)
CONNECTION = _kind(
    "connection", ids.CONNECTION_TYPE, WORKSPACE, ResourceKind.CONNECTION, ConnectionBody, deployable=True
)
SAAS = _kind("SaaS resource", ids.SAAS_TYPE, RESOURCE_GROUP, None, None)
# The terms a subscription accepted for one plan (`agreements/{publisher}/offers/{offer}/plans/{plan}`),
# recorded by subscribing; read-only.
AGREEMENT = _kind(
    "marketplace agreement",
    ids.AGREEMENT_TYPE,
    SUBSCRIPTION,
    None,
    None,
    action="Microsoft.MarketplaceOrdering/agreements/offers/plans",
)
DEPLOYMENT = _kind("deployment", ids.DEPLOYMENT_TYPE, RESOURCE_GROUP, ResourceKind.DEPLOYMENT, DeploymentBody)
REGISTRY = _kind("registry", ids.REGISTRY_TYPE, None, ResourceKind.REGISTRY, RegistryBody)
MODEL = _kind("model", ids.MODEL_TYPE, REGISTRY, ResourceKind.MODEL, None)
MODEL_VERSION = _kind(
    "model version", ids.MODEL_VERSION_TYPE, MODEL, ResourceKind.MODEL_VERSION, ModelVersionBody
)
OFFER = _kind("offer", ids.OFFER_TYPE, None, ResourceKind.OFFER, OfferBody)
PRINCIPAL = _kind("principal", ids.PRINCIPAL_TYPE, None, ResourceKind.PRINCIPAL, PrincipalBody)
ROLE_ASSIGNMENT = _kind(
    "role assignment", ids.ROLE_ASSIGNMENT_TYPE, None, ResourceKind.ROLE_ASSIGNMENT, RoleAssignmentBody
)
ROLE_DEFINITION = _kind(
    "role definition", ids.ROLE_DEFINITION_TYPE, None, ResourceKind.ROLE_DEFINITION, RoleDefinitionBody
)
USER = _kind("user", ids.USER_TYPE, None, ResourceKind.USER, UserBody)
SERVICE_PRINCIPAL = _kind(
    "service principal",
    ids.SERVICE_PRINCIPAL_TYPE,
    None,
    ResourceKind.SERVICE_PRINCIPAL,
    ServicePrincipalBody,
)
# A request to raise one deployment's quota: an extension resource of the endpoint
# (`{endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}`), checked with actions under the
# endpoint's, so the roles that may write a workspace's endpoints may file one.
QUOTA_REQUEST = _kind(
    "quota request",
    ids.QUOTA_REQUEST_TYPE,
    SERVERLESS_ENDPOINT,
    ResourceKind.QUOTA_REQUEST,
    QuotaRequestBody,
    action=f"{ids.ML}/workspaces/serverlessEndpoints/quotaRequests",
)

KINDS: tuple[Kind, ...] = (
    SUBSCRIPTION,
    RESOURCE_GROUP,
    WORKSPACE,
    MARKETPLACE_SUBSCRIPTION,
    SERVERLESS_ENDPOINT,
    CONNECTION,
    SAAS,
    AGREEMENT,
    DEPLOYMENT,
    REGISTRY,
    MODEL,
    MODEL_VERSION,
    OFFER,
    PRINCIPAL,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    USER,
    SERVICE_PRINCIPAL,
    QUOTA_REQUEST,
)
_BY_TYPE = MappingProxyType({k.arm_type.lower(): k for k in KINDS})

# Fixed path words that are not a kind's collection: actions and operation collections.
_ACTION_WORDS = (
    "providers",
    "resources",
    "listKeys",
    "regenerateKeys",
    "listsecrets",
    "locations",
    "mfeOperationsStatus",
    "mfeOperationResults",
    "quotas",
    "query",
    "addPassword",
    "tenants",
    "eventtypes",  # the activity log: Microsoft.Insights/eventtypes/management/values
    "values",
    "plans",  # marketplace agreements: agreements/{publisher}/offers/{offer}/plans/{plan}
    "cancel",  # quota requests: POST …/quotaRequests/{name}/cancel|approve|deny
    "approve",
    "deny",
)
_OTHER_NAMESPACES = ("Microsoft.CostManagement", "Microsoft.Insights")


def by_type(arm_type: str) -> Kind | None:
    """The kind of an ARM type, case-insensitively (ARM types are)."""
    return _BY_TYPE.get(arm_type.lower())


def fixed_path_words() -> Iterator[str]:
    """Every fixed (case-insensitive, canonicalised) word of the management API's paths."""
    yield from _ACTION_WORDS
    yield from _OTHER_NAMESPACES
    for kind in KINDS:
        yield kind.collection
        yield kind.namespace

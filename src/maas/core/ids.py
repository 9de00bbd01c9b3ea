"""Resource ids (ARM paths) and model ids (azureml:// URIs).

ARM ids are case-insensitive: every id has a display form (as the client first wrote it) and a
`key` (lower case) that the store indexes. Model ids name a registry model, optionally a version:
``azureml://registries/{registry}/models/{model}[/versions/{version}]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maas.core.errors import BadRequest

ML = "Microsoft.MachineLearningServices"
WORKSPACE_TYPE = f"{ML}/workspaces"
ENDPOINT_TYPE = f"{ML}/workspaces/serverlessEndpoints"
MARKETPLACE_SUBSCRIPTION_TYPE = f"{ML}/workspaces/marketplaceSubscriptions"
CONNECTION_TYPE = f"{ML}/workspaces/connections"
REGISTRY_TYPE = f"{ML}/registries"
MODEL_TYPE = f"{ML}/registries/models"
MODEL_VERSION_TYPE = f"{ML}/registries/models/versions"
SAAS_TYPE = "Microsoft.SaaS/resources"
OFFER_TYPE = "Microsoft.MaaS/offers"
PRINCIPAL_TYPE = "Microsoft.MaaS/principals"
USER_TYPE = "Microsoft.MaaS/users"
SERVICE_PRINCIPAL_TYPE = "Microsoft.MaaS/servicePrincipals"
QUOTA_REQUEST_TYPE = "Microsoft.MaaS/quotaRequests"
SUBSCRIPTION_TYPE = "Microsoft.Resources/subscriptions"
RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
AGREEMENT_TYPE = "Microsoft.MarketplaceOrdering/agreements"


def key_of(resource_id: str) -> str:
    """The case-insensitive lookup key of an ARM id."""
    return resource_id.rstrip("/").lower()


def subscription_id(sub: str) -> str:
    return f"/subscriptions/{sub}"


def resource_group_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def workspace_id(sub: str, rg: str, ws: str) -> str:
    return f"{resource_group_id(sub, rg)}/providers/{WORKSPACE_TYPE}/{ws}"


def workspace_child_id(sub: str, rg: str, ws: str, collection: str, name: str) -> str:
    return f"{workspace_id(sub, rg, ws)}/{collection}/{name}"


def saas_resource_id(sub: str, rg: str, name: str) -> str:
    return f"{resource_group_id(sub, rg)}/providers/{SAAS_TYPE}/{name}"


def agreement_id(sub: str, publisher: str, offer: str, plan: str) -> str:
    """A marketplace agreement's ARM id: `Microsoft.MarketplaceOrdering/agreements` of one plan."""
    return f"{subscription_id(sub)}/providers/{AGREEMENT_TYPE}/{publisher}/offers/{offer}/plans/{plan}"


def registry_id(registry: str) -> str:
    return f"/registries/{registry}"


def model_resource_id(registry: str, model: str) -> str:
    return f"/registries/{registry}/models/{model}"


def model_version_resource_id(registry: str, model: str, version: str) -> str:
    return f"/registries/{registry}/models/{model}/versions/{version}"


def offer_id(name: str) -> str:
    return f"/providers/{OFFER_TYPE}/{name}"


def principal_id(name: str) -> str:
    return f"/providers/{PRINCIPAL_TYPE}/{name}"


def user_id(user_principal_name: str) -> str:
    return f"/providers/{USER_TYPE}/{user_principal_name}"


def service_principal_id(app_id: str) -> str:
    return f"/providers/{SERVICE_PRINCIPAL_TYPE}/{app_id}"


def tenant_id(tenant: str) -> str:
    return f"/tenants/{tenant}"


_MODEL_ID = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<model>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+))?/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ModelId:
    registry: str
    model: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str, *, target: str = "modelId") -> ModelId:
        match = _MODEL_ID.match(text.strip())
        if not match:
            raise BadRequest(
                f"'{text}' is not a model id. Use azureml://registries/<registry>/models/<model>, "
                "as shown on the model card.",
                code="InvalidModelId",
                target=target,
            )
        return cls(match["registry"], match["model"], match["version"])

    @property
    def unversioned(self) -> str:
        return f"azureml://registries/{self.registry}/models/{self.model}"

    def __str__(self) -> str:
        if self.version is None:
            return self.unversioned
        return f"{self.unversioned}/versions/{self.version}"

    @property
    def resource_id(self) -> str:
        return model_resource_id(self.registry, self.model)


def scope_of(resource_id: str) -> str:
    """The id itself is the authorization scope; kept as a function to make call sites read well."""
    return resource_id


def type_of(resource_id: str) -> str:
    """The ARM type an id names: '.../providers/NS/a/x/b/y' → 'NS/a/b'."""
    _, _, tail = resource_id.rpartition("/providers/")
    parts = tail.strip("/").split("/")
    return "/".join([parts[0], *parts[1::2]]) if len(parts) >= 3 else ""

"""The MaaS Python SDK: clients shaped like Azure's (azure-ai-ml, azure-mgmt-costmanagement),
over a MaaS server, and `ArmClient` for any other ARM resource by its path.

The public names are exactly `__all__`; the modules behind them are implementation detail.
"""

from __future__ import annotations

from maas.sdk.arm import ArmClient
from maas.sdk.client import MLClient
from maas.sdk.costs import CostManagementClient, QueryColumn, QueryOperations, QueryResult
from maas.sdk.credentials import AccessToken, MaasTokenCredential, TokenCredential
from maas.sdk.entities import (
    EndpointAuthKeys,
    MarketplacePlan,
    MarketplaceSubscription,
    ServerlessConnection,
    ServerlessEndpoint,
    Workspace,
)
from maas.sdk.errors import HttpResponseError, MaasClientError, ServiceRequestError, ValidationError
from maas.sdk.loaders import load_connection, load_marketplace_subscription, load_serverless_endpoint
from maas.sdk.pollers import LROPoller
from maas.sdk.quota import (
    EndpointQuota,
    QuotaClient,
    QuotaOperations,
    QuotaRequest,
    QuotaRequestEvent,
    QuotaRequestOperations,
)

__all__ = [
    "AccessToken",
    "ArmClient",
    "CostManagementClient",
    "EndpointAuthKeys",
    "EndpointQuota",
    "HttpResponseError",
    "LROPoller",
    "MLClient",
    "MaasClientError",
    "MaasTokenCredential",
    "MarketplacePlan",
    "MarketplaceSubscription",
    "QueryColumn",
    "QueryOperations",
    "QueryResult",
    "QuotaClient",
    "QuotaOperations",
    "QuotaRequest",
    "QuotaRequestEvent",
    "QuotaRequestOperations",
    "ServerlessConnection",
    "ServerlessEndpoint",
    "ServiceRequestError",
    "TokenCredential",
    "ValidationError",
    "Workspace",
    "load_connection",
    "load_marketplace_subscription",
    "load_serverless_endpoint",
]

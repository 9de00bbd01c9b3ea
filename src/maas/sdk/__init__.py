"""The MaaS Python SDK: clients shaped like Azure's management SDKs, over a MaaS server.

The public names are exactly `__all__`; the modules behind them are implementation detail.
"""

from __future__ import annotations

from maas.sdk.costs import CostManagementClient, QueryColumn, QueryOperations, QueryResult
from maas.sdk.credentials import AccessToken, MaasTokenCredential, TokenCredential
from maas.sdk.errors import HttpResponseError, MaasClientError, ServiceRequestError

__all__ = [
    "AccessToken",
    "CostManagementClient",
    "HttpResponseError",
    "MaasClientError",
    "MaasTokenCredential",
    "QueryColumn",
    "QueryOperations",
    "QueryResult",
    "ServiceRequestError",
    "TokenCredential",
]

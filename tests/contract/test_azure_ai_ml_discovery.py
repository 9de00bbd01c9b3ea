"""Contract: azure-ai-ml reads a workspace's `discoveryUrl` for the base URL of its APIs (for
hub, index and batch operations); against MaaS it gets MaaS's own URL back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.ai.ml._utils.utils import _get_base_urls_from_discovery_service

pytestmark = pytest.mark.contract


def test_the_client_reads_the_workspace_discovery_document(
    make_client: Callable[[str], Any], maas_server: Any
) -> None:
    client = make_client("ws-discovery")
    workspace = client.workspaces.get("ws-discovery")
    assert workspace.discovery_url == f"{maas_server.url}/discovery"
    urls = _get_base_urls_from_discovery_service(client.workspaces, "ws-discovery", client._requests_pipeline)
    assert urls == {"api": maas_server.url}

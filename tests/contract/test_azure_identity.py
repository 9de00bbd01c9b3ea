"""Contract: the real azure-identity (1.27) and MSAL (1.39) against the token endpoint of a real
`maas serve --tls`, and the real azure-ai-ml client running the seed's flow with their token.

A service principal (Contributor at the subscription) signs in with
`ClientSecretCredential(tenant, app_id, secret, authority=<server>, disable_instance_discovery=True)`:
MSAL finds the token endpoint from the server's OpenID Connect discovery document, and the access
token it gets (an RS256 JWT) is the bearer token of every management call.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from contract import test_azure_ai_ml as seed
from contract.conftest import SUB, Admin, Server

pytestmark = pytest.mark.contract

SCOPE = "https://management.azure.com/.default"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


class Recording:
    """The real credential, recording the scopes it was asked for (the seed test checks them)."""

    def __init__(self, inner: ClientSecretCredential) -> None:
        self.inner = inner
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.append(scopes)
        return self.inner.get_token(*scopes, **kwargs)


@pytest.fixture(scope="module")
def tenant(world: Admin) -> str:
    return str(world.ok("GET", "/tenants")["value"][0]["tenantId"])


@pytest.fixture(scope="module")
def service_principal(world: Admin) -> tuple[str, str, str]:
    """A service principal with Contributor at the subscription: app id, secret, object id."""
    app_id = str(uuid.uuid4())
    sps = "/providers/Microsoft.MaaS/servicePrincipals"
    created = world.ok("PUT", f"{sps}/{app_id}", {"properties": {"displayName": "contract-bot"}})
    secret = world.ok("POST", f"{sps}/{app_id}/addPassword", {})["secretText"]
    object_id = created["properties"]["principalId"]
    scope = f"/subscriptions/{SUB}"
    role = f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    world.ok(
        "PUT",
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        {"properties": {"roleDefinitionId": role, "principalId": object_id}},
    )
    return app_id, secret, object_id


@pytest.fixture(scope="module")
def credential(
    maas_server: Server, tenant: str, service_principal: tuple[str, str, str], client_env: None
) -> Recording:
    """Overrides the conftest's static-token credential: `make_client` builds MLClients with it."""
    app_id, secret, _ = service_principal
    return Recording(
        ClientSecretCredential(
            tenant, app_id, secret, authority=maas_server.url, disable_instance_discovery=True
        )
    )


def test_client_secret_credential_gets_a_management_token(
    credential: Recording, maas_server: Server, tenant: str, service_principal: tuple[str, str, str]
) -> None:
    app_id, _, object_id = service_principal
    token = credential.inner.get_token(SCOPE)
    assert token.expires_on > time.time() + 3000
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["aud"] == "https://management.azure.com"
    assert claims["iss"] == f"{maas_server.url}/{tenant}/v2.0"
    assert (claims["tid"], claims["oid"], claims["appid"]) == (tenant, object_id, app_id)


def test_a_wrong_secret_is_refused_with_entra_s_error(
    maas_server: Server, tenant: str, service_principal: tuple[str, str, str], client_env: None
) -> None:
    app_id, _, _ = service_principal
    wrong = ClientSecretCredential(
        tenant, app_id, "not-the-secret", authority=maas_server.url, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        wrong.get_token(SCOPE)


# The seed's whole flow (subscribe, deploy, get, list, keys, delete) with the MLClient built on
# the ClientSecretCredential above instead of a static token.
test_seed_flow_with_a_client_secret_credential = seed.test_seed_snippets_run_end_to_end

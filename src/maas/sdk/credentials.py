"""Credentials for the MaaS SDK, shaped like azure-core's so either kind fits either client.

`MaasTokenCredential(token)` wraps a MaaS bearer token (a principal's token, or the admin's) in
the `get_token(*scopes) -> AccessToken(token, expires_on)` interface of
`azure.core.credentials.TokenCredential`. The SDK's clients accept anything with that method, so
an azure-identity credential can be passed where Azure's token is what the server expects.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple, Protocol

#: The scope Azure management clients ask tokens for; MaaS tokens carry no audience.
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
_LIFETIME_S = 3600


class AccessToken(NamedTuple):
    """A bearer token and when it expires (seconds since the epoch), as in azure-core."""

    token: str
    expires_on: int


class _Token(Protocol):
    @property
    def token(self) -> str: ...


class TokenCredential(Protocol):
    """What the SDK's clients need from a credential (azure-core's `TokenCredential`)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> _Token: ...


class MaasTokenCredential:
    """A MaaS bearer token as a credential. The token does not expire; `expires_on` says an hour
    from now so that callers that cache tokens simply ask again later."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ValueError("a MaaS token is required (the server prints the admin's on first start)")
        self._token = token.strip()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + _LIFETIME_S)

    def close(self) -> None:
        """Nothing to release; present because azure-core credentials have it."""

    def __repr__(self) -> str:
        return "MaasTokenCredential(token=***)"

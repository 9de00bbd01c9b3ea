"""The gateway's cache of endpoints: Target URI → endpoint, key digests, state and model.

Entries live `ttl` seconds (so processes that share a database converge), and the whole cache is
dropped whenever this process commits a change to an endpoint, its keys or its subscription, so a
regenerated key or a deleted subscription takes effect here at once. Keys are compared by keyed
digest in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import time

from maas.controlplane.services.context import Services
from maas.controlplane.services.directory import EndpointView, lookup_endpoint
from maas.core.errors import Forbidden, NotFound, Unauthenticated, Unavailable


class Directory:
    def __init__(self, services: Services, ttl: float = 2.0) -> None:
        self.services = services
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, EndpointView | None]] = {}
        services.endpoint_listeners.append(self.forget)

    def forget(self) -> None:
        self._cache.clear()

    async def find(self, region: str, name: str) -> EndpointView:
        key = (region.lower(), name.lower())
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is None or hit[0] < now:
            view = await asyncio.to_thread(lookup_endpoint, self.services, *key)
            self._cache[key] = hit = (now + self.ttl, view)
        view = hit[1]
        if view is None or view.provisioning_state == "Deleting":
            raise NotFound(
                f"There is no serverless endpoint '{name}' in region '{region}'.", code="endpoint_not_found"
            )
        return view

    def check_key(self, view: EndpointView, key: str | None) -> None:
        if not key:
            raise Unauthenticated(
                "Missing key: send it in the 'api-key' header or as 'Authorization: Bearer <key>'.",
                code="missing_key",
            )
        digest = self.services.vault.digest(key)
        primary = hmac.compare_digest(digest, view.primary_digest)
        secondary = hmac.compare_digest(digest, view.secondary_digest)
        if not (primary or secondary):
            raise Unauthenticated("Invalid key for this endpoint.", code="invalid_key")

    @staticmethod
    def check_state(view: EndpointView) -> None:
        if view.endpoint_state in ("Unhealthy", "Suspended"):
            reason = (
                "its marketplace subscription was removed"
                if view.endpoint_state == "Unhealthy"
                else "its model offer is paid and its account has no valid payment method; it works "
                "again as soon as a payment method is restored on the account"
            )
            raise Forbidden(
                f"The endpoint '{view.name}' is {view.endpoint_state.lower()}: {reason}.",
                code=f"endpoint_{view.endpoint_state.lower()}",
            )
        if view.provisioning_state != "Succeeded" or view.model is None:
            raise Unavailable(
                f"The endpoint '{view.name}' is not ready yet ({view.provisioning_state}).",
                code="endpoint_not_ready",
            )

"""The gateway's cache of endpoints: Target URI → endpoint, key digests, state and model.

Entries live `ttl` seconds (so processes that share a database converge), and the whole cache is
dropped whenever this process commits a change to an endpoint, its keys or its subscription, so a
regenerated key or a deleted subscription takes effect here at once. Keys are compared by keyed
digest, scoped to the endpoint (`maas.controlplane.domain.keys`), in constant time; wrong keys are
throttled per client address (`maas.gateway.throttle`).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Sequence

from maas.controlplane.domain.keys import key_digest, legacy_key_digest
from maas.core.crypto import Vault
from maas.core.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated, Unavailable
from maas.gateway.readmodel import EndpointReader, EndpointView
from maas.gateway.throttle import KeyThrottle, client_address

THROTTLED = "too_many_failed_auth_attempts"


class Directory:
    """Call `forget` whenever an endpoint, its keys or its subscription changed (the process
    wiring subscribes it to the control plane's change notices)."""

    def __init__(
        self,
        reader: EndpointReader,
        *,
        ttl: float = 2.0,
        failures_per_minute: int = 20,
        trust_forwarded_for: bool = False,
    ) -> None:
        self.reader = reader
        self.vault: Vault = reader.vault
        self.ttl = ttl
        self.trust_forwarded_for = trust_forwarded_for
        self._cache: dict[tuple[str, str], tuple[float, EndpointView | None]] = {}
        self.throttle = KeyThrottle(failures_per_minute)

    def forget(self) -> None:
        self._cache.clear()

    async def find(self, region: str, name: str) -> EndpointView:
        key = (region.lower(), name.lower())
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is None or hit[0] < now:
            view = await asyncio.to_thread(self.reader.lookup, *key)
            self._cache[key] = hit = (now + self.ttl, view)
        view = hit[1]
        if view is None or view.provisioning_state == "Deleting":
            raise NotFound(
                f"There is no serverless endpoint '{name}' in region '{region}'.", code="endpoint_not_found"
            )
        return view

    def check_key(
        self,
        view: EndpointView,
        key: str | None,
        peer: Sequence[object] | None = None,
        forwarded_for: str | None = None,
    ) -> None:
        """Pass a right key; 401 a missing or wrong one; 429 while the client's address is
        throttled for wrong keys, unless it presents a key it already used from there."""
        if not key:
            raise Unauthenticated(
                "Missing key: send it in the 'api-key' header or as 'Authorization: Bearer <key>'.",
                code="missing_key",
            )
        address = client_address(peer, forwarded_for, self.trust_forwarded_for)
        wait = self.throttle.wait(address)
        vault = self.vault
        matched = _match(view, key_digest(vault, view.id, key))
        if matched is None or wait:  # throttled, every key costs both digests: no timing tell
            legacy = _match(view, legacy_key_digest(vault, key))
            matched = matched or legacy
        if wait:
            if matched is not None and self.throttle.known(address, matched):
                return
            raise TooManyRequests(
                f"Too many wrong keys from this address; try again in {wait} s.",
                code=THROTTLED,
                retry_after=wait,
            )
        if matched is None:
            self.throttle.failed(address)
            raise Unauthenticated("Invalid key for this endpoint.", code="invalid_key")
        self.throttle.passed(address, matched)

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


def _match(view: EndpointView, digest: str) -> str | None:
    """`digest` if it is one of the endpoint's two, compared in constant time; else None."""
    primary = hmac.compare_digest(digest, view.primary_digest)
    secondary = hmac.compare_digest(digest, view.secondary_digest)
    return digest if primary or secondary else None

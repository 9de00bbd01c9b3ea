"""Throttling wrong endpoint keys per client address, without an oracle and without slowing
the clients that hold the right key.

Each client address has a token bucket of ``per_minute`` tokens that refills at ``per_minute``
per minute; every wrong key costs one. While an address has less than one token it is throttled:
its requests answer 429 `too_many_failed_auth_attempts` with `Retry-After` (when the next token
comes), and their keys are not judged. Were a right key from a throttled address let through
while wrong ones got 429, the 429 itself would say "wrong" and guessing would go on at full
speed. So a throttled address keeps only the keys it was already using: a key that passed from
this address while it was not throttled (remembered per address and key digest) still passes,
so a client with the right key is not cut off by a misconfigured neighbour behind the same
address (a stale key after a rotation, a shared NAT). A key that address never used before gets
the same 429 as a wrong one, until the address has tokens again.

Right keys never cost a token; the work on their path is one dictionary look-up and one insert.

Addresses: the peer address of the connection, or, only when the operator says a proxy in front
sets it (`trust_forwarded_for`), the last `X-Forwarded-For` entry (the one that proxy appended;
earlier entries are whatever the client sent). IPv6 addresses count per /64, the block one
client usually holds. Memory is bounded: at most ``max_entries`` buckets and remembered keys each,
the least recently used dropped first; a dropped bucket was full or nearly so, or belonged to an
address outnumbered by newer ones. Per process: N processes allow N times the budget.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from maas.core.addresses import peer_address

__all__ = ["KeyThrottle", "client_address"]

MAX_ENTRIES = 100_000


def client_address(peer: Sequence[object] | None, forwarded_for: str | None, trust: bool) -> str:
    """The address failures are counted against (an IPv6 address stands for its /64)."""
    host = peer_address(peer, forwarded_for, trust)
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host  # a name (test clients), or nothing at all: counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class KeyThrottle:
    """Wrong-key budgets per address, and the keys each address used while it was in budget."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.max_entries = max_entries
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, as of
        self._known: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _tokens(self, address: str, now: float) -> float:
        bucket = self._buckets.get(address)
        if bucket is None:
            return float(self.per_minute)
        tokens, at = bucket
        return min(float(self.per_minute), tokens + (now - at) * self._rate)

    def wait(self, address: str) -> int:
        """Whole seconds until `address` may have a key judged again; 0 when it may now."""
        if self.per_minute <= 0 or address not in self._buckets:
            return 0
        now = self._clock()
        tokens = self._tokens(address, now)
        if tokens >= self.per_minute:  # refilled: forget the address
            del self._buckets[address]
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self._rate))

    def failed(self, address: str) -> None:
        """A wrong key from `address`: it costs one token."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        self._buckets[address] = (max(0.0, self._tokens(address, now) - 1), now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self.max_entries:
            self._buckets.popitem(last=False)

    def passed(self, address: str, digest: str) -> None:
        """A right key from `address` while it was in budget: it keeps passing if it is throttled."""
        if self.per_minute <= 0:
            return
        entry = (address, digest)
        self._known[entry] = None
        self._known.move_to_end(entry)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)

    def known(self, address: str, digest: str) -> bool:
        """Whether `address` used this key (by its digest) before it was throttled."""
        return (address, digest) in self._known

"""Which address a request came from, the one rule the gateway and the control plane share.

The peer address of the connection, or, only when the operator says a proxy in front sets it
(`MAAS_TRUST_FORWARDED_FOR`), the last `X-Forwarded-For` entry: the one that proxy appended;
earlier entries are whatever the client sent, so they are never believed.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["peer_address"]


def peer_address(peer: Sequence[object] | None, forwarded_for: str | None, trust: bool) -> str:
    """The client's address as text ("" when there is none, e.g. an in-process test client)."""
    host = ""
    if trust and forwarded_for:
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        host = entries[-1] if entries else ""
    if not host and peer:
        host = str(peer[0])
    return host

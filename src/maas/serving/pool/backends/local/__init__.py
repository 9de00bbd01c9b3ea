"""The local backend: each pool's replicas are processes on this machine (see `pool.py`)."""

from maas.serving.pool.backends.local.pool import LocalPool
from maas.serving.pool.backends.local.pools import LocalPools

__all__ = ["LocalPool", "LocalPools"]

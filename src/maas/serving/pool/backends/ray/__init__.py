"""The Ray Serve backend: each pool is a Ray Serve application, its replicas Ray actors (see
`pool.py`). Ray is imported lazily: this package imports without it."""

from maas.serving.pool.backends.ray.pool import RayPool
from maas.serving.pool.backends.ray.pools import RayPools

__all__ = ["RayPool", "RayPools"]

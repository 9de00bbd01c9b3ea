"""Imported once by the fork server: replicas are forked with torch and transformers in memory."""

from maas.serving.pool.backends.local.worker import preload

preload()

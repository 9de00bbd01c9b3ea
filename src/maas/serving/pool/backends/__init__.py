"""The serving backends, one package or module each: `local` (replica processes on this machine),
`ray` (Ray Serve) and `inline` (relays to OpenAI-compatible upstreams, from the gateway process).

Each implements `maas.serving.pool.base.Pools` from the shared modules of `maas.serving.pool`
(admission, statistics, views, operations) and imports no other backend, so that one can change,
or be left uninstalled, without the others noticing.
"""

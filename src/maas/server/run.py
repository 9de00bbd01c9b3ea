"""`maas serve`: prepare the data directory, then run the app under uvicorn (HTTP or HTTPS)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

import uvicorn

from maas.core.settings import Settings
from maas.server import logs
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from maas.server.tls import ensure_tls_files


def serve(settings: Settings, echo: Callable[[str], None] = print) -> None:
    logs.configure(settings.log_level)
    prepared = prepare(settings)
    settings = prepared.settings
    certfile: str | None = None
    keyfile: str | None = None
    if settings.tls:
        hosts = sorted({settings.host, "localhost", "127.0.0.1", "::1"} - {"0.0.0.0", "::"})  # noqa: S104
        files = ensure_tls_files(settings.data_dir / "tls", hosts)
        certfile, keyfile = str(files.server_cert), str(files.server_key)
    echo(f"MaaS is starting at {settings.base_url}")
    echo(f"  data directory: {settings.data_dir}")
    echo(f"  database:       {settings.resolved_database_url.split('@')[-1]}")
    if settings.tls:
        echo(f"  CA bundle:      {files.ca_cert}  (export REQUESTS_CA_BUNDLE={files.ca_cert})")
    if prepared.generated_admin_token:
        # Shown once, on the first start that made it, so the operator can sign in (user 'admin',
        # this as the password); never again and never in a log record: later starts name the file.
        echo(f"  admin token:    {prepared.generated_admin_token}")
        echo(f"    (shown this once; kept in {settings.data_dir / 'admin-token'}, readable only by you;")
        echo("     set MAAS_ADMIN_TOKEN to choose the token)")
    else:
        where = settings.data_dir / "admin-token"
        hint = f"$(cat {where})" if where.exists() and not settings.admin_token else "$MAAS_ADMIN_TOKEN"
        echo(f"  admin token:    {hint}")
    echo(f"  tenant:         {prepared.tenant_id}  (the admin signs in as user 'admin'; see `maas ad`)")
    if settings.trusted_issuer:
        echo(f"  trusted issuer: {settings.trusted_issuer}  (audience {settings.trusted_audience})")
        host = urlsplit(settings.trusted_issuer).hostname or ""
        if settings.trusted_issuer.startswith("http://") and not _loopback(host):
            echo(
                "    warning: its keys are fetched over plain HTTP; whoever is on that path can forge tokens"
            )
    studio = f"{settings.base_url}/studio"
    echo(f"  Studio:         {studio}  (sign in as user 'admin', the admin token as password)")
    echo(f"  e.g. curl -H 'Authorization: Bearer <token>' {settings.base_url}/subscriptions")
    uvicorn.run(
        create_server_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=logs.uvicorn_log_config(),
        access_log=settings.access_log,
        # X-Forwarded-For names the client only behind a proxy the operator says is there;
        # otherwise anyone on this host could pick the address the wrong-key throttle counts.
        proxy_headers=settings.trust_forwarded_for,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        # An idle TLS keep-alive connection otherwise holds shutdown for asyncio's 30 s SSL timeout.
        timeout_graceful_shutdown=5,
    )


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""First start of a MaaS server: data directory, server secret, migrations, bootstrap admin.

The secret lives in `<data-dir>/secret` (mode 0600) unless `MAAS_SECRET` is set; every process
that shares a database must share the secret (it encrypts endpoint keys and digests tokens).
The admin principal's token is `MAAS_ADMIN_TOKEN` when set (setting it later replaces the old
one); otherwise it is generated on first start, shown once by that start's `maas serve`, and kept
in `<data-dir>/admin-token` (mode 0600), which later starts name. The admin is also the
directory user `admin`, whose password is that token until an operator sets one. The tenant id
(a GUID made at first start) is kept in the database, so every process that shares it agrees,
and copied to `<data-dir>/tenant-id` for the operator.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from maas.controlplane.services.access import ensure_admin
from maas.controlplane.services.context import Services
from maas.controlplane.services.directory import ensure_admin_user, ensure_tenant
from maas.controlplane.services.signing_keys import ensure_signing_key
from maas.controlplane.store.database import Database
from maas.core.crypto import Vault
from maas.core.settings import Settings
from maas.server.defaults import install_default_models


@dataclass(frozen=True)
class Prepared:
    settings: Settings
    generated_admin_token: str | None
    tenant_id: str


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def load_or_create_secret(data_dir: Path) -> str:
    path = data_dir / "secret"
    if not path.exists():
        # If another process wins the race, use its secret.
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def prepare(settings: Settings) -> Prepared:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.secret is None:
        settings = settings.model_copy(update={"secret": SecretStr(load_or_create_secret(settings.data_dir))})
    assert settings.secret is not None
    database = Database(settings.resolved_database_url)
    try:
        database.migrate()
        services = Services(db=database, vault=Vault(settings.secret.get_secret_value()), settings=settings)
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        generated = ensure_admin(services, token)
        ensure_admin_user(services)
        tenant = ensure_tenant(services)
        ensure_signing_key(services)  # the first start makes the key that signs access tokens
        # A copy for the operator (the database is the source, as processes may share it).
        (settings.data_dir / "tenant-id").write_text(tenant + "\n")
        if settings.default_models:
            install_default_models(services)
        if token is not None:  # the environment's token replaced any generated one
            (settings.data_dir / "admin-token").unlink(missing_ok=True)
        if generated is not None:
            (settings.data_dir / "admin-token").unlink(missing_ok=True)
            _write_private(settings.data_dir / "admin-token", generated + "\n")
    finally:
        database.dispose()
    return Prepared(settings, generated, tenant)

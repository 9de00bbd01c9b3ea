"""First start: data dir, secret, migrations, the bootstrap admin and its token."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from maas.controlplane.api.app import create_app
from maas.core.settings import Settings
from maas.server.bootstrap import prepare


def _whoami(settings: Settings, token: str) -> int:
    with TestClient(create_app(settings, reconcile=False)) as client:
        return client.get("/subscriptions", headers={"Authorization": f"Bearer {token}"}).status_code


def test_first_start_generates_secret_and_admin_token_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = prepare(settings)
    token = first.generated_admin_token
    assert token is not None
    secret_file, token_file = tmp_path / "data" / "secret", tmp_path / "data" / "admin-token"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == token
    assert first.settings.secret is not None
    assert first.settings.secret.get_secret_value() == secret_file.read_text().strip()

    again = prepare(settings)  # a restart reuses everything and prints no new token
    assert again.generated_admin_token is None
    assert again.settings.secret == first.settings.secret
    assert _whoami(again.settings, token) == 200
    assert _whoami(again.settings, "wrong") == 401


def test_admin_token_from_the_environment_replaces_a_generated_one(tmp_path: Path) -> None:
    first = prepare(Settings(data_dir=tmp_path))
    old = first.generated_admin_token
    assert old is not None
    chosen = prepare(Settings(data_dir=tmp_path, admin_token=SecretStr("chosen-admin-token-123")))
    assert chosen.generated_admin_token is None
    assert not (tmp_path / "admin-token").exists()
    assert _whoami(chosen.settings, "chosen-admin-token-123") == 200
    assert _whoami(chosen.settings, old) == 401

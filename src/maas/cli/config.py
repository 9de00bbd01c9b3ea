"""Where the CLI finds its server, token, account and defaults.

Every value resolves in one order: the command's flag, then the environment (`MAAS_URL`,
`MAAS_TOKEN`, `MAAS_SUBSCRIPTION`, `MAAS_RESOURCE_GROUP`, `MAAS_WORKSPACE`, `MAAS_LOCATION`,
`MAAS_CA_BUNDLE`), then the config file `cli.json` in `$MAAS_CONFIG_DIR` (default `~/.maas`),
which `maas login`, `maas account set` and `maas configure --defaults` write. The file holds a
token, so it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_KEYS = ("workspace", "group", "location")
ENV = {
    "url": "MAAS_URL",
    "token": "MAAS_TOKEN",
    "subscription": "MAAS_SUBSCRIPTION",
    "group": "MAAS_RESOURCE_GROUP",
    "workspace": "MAAS_WORKSPACE",
    "location": "MAAS_LOCATION",
}


class ConfigError(Exception):
    """The config file cannot be read."""


def config_path() -> Path:
    base = os.environ.get("MAAS_CONFIG_DIR")
    return (Path(base) if base else Path.home() / ".maas") / "cli.json"


def load() -> dict[str, Any]:
    path = config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def save(data: dict[str, Any]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Profile:
    """The resolved connection and defaults for one command."""

    url: str
    token: str | None
    subscription: str | None
    group: str | None
    workspace: str | None
    location: str | None
    verify: str | bool


def _pick(flag: str | None, key: str, stored: dict[str, Any]) -> str | None:
    if flag:
        return flag
    env = os.environ.get(ENV[key])
    if env:
        return env
    value = stored.get(key)
    return str(value) if value else None


def resolve(
    *,
    url: str | None = None,
    token: str | None = None,
    subscription: str | None = None,
    group: str | None = None,
    workspace: str | None = None,
    location: str | None = None,
) -> Profile:
    data = load()
    defaults = data.get("defaults") or {}
    token_value = token or os.environ.get("MAAS_TOKEN") or os.environ.get("MAAS_ADMIN_TOKEN")
    ca = os.environ.get("MAAS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE") or data.get("ca_bundle")
    return Profile(
        url=(_pick(url, "url", data) or DEFAULT_URL).rstrip("/"),
        token=token_value or (str(data["token"]) if data.get("token") else None),
        subscription=_pick(subscription, "subscription", data),
        group=_pick(group, "group", defaults),
        workspace=_pick(workspace, "workspace", defaults),
        location=_pick(location, "location", defaults),
        verify=str(ca) if ca else True,
    )

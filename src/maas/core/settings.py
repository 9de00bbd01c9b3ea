"""Typed settings for one MaaS process.

Read from arguments first, then `MAAS_*` environment variables. There is no default secret:
the server secret comes from `MAAS_SECRET` or from a file that `maas serve` generates once in
the data directory (see `maas.server.bootstrap`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from maas.core.netpolicy import refused_url


def _default_data_dir() -> Path:
    """~/.maas, looked up when settings are built (not at import, so HOME set later counts)."""
    return Path.home() / ".maas"


class Settings(BaseSettings):
    """Everything a MaaS process needs to know about where it runs and what it stores."""

    model_config = SettingsConfigDict(env_prefix="MAAS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    tls: bool = False
    # Public base URL used in Target URIs and operation links; derived from host/port when unset.
    public_url: str | None = None
    # Secret used to encrypt keys at rest and to digest tokens; generated on first start.
    secret: SecretStr | None = None
    admin_token: SecretStr | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    page_size: int = Field(default=100, ge=1, le=1000)
    # Put the shipped chat and embedding models in the catalog on first start.
    default_models: bool = True
    # When set, Target URIs are https://{endpoint}.{region}.{inference_domain} (host-based routing).
    inference_domain: str | None = None
    # Seconds a gateway process trusts its cached view of an endpoint written by another process.
    directory_ttl: float = Field(default=2.0, ge=0)
    # Metadata, link-local and unspecified upstream addresses are always refused (docs/engines.md).
    # This only lets registration accept an upstream host name that does not resolve yet.
    allow_private_upstreams: bool = False
    # Where model replicas run: "local" worker processes, or "ray" (Ray Serve deployments).
    serving: Literal["local", "ray"] = "local"
    # Address of a Ray cluster to join ("auto", "ray://host:10001", …); unset starts a local one.
    ray_address: str | None = None
    # Serverless pool defaults; each model's `serving` settings override them.
    pool_keep_alive: float = Field(default=300.0, ge=0)
    pool_max_replicas: int = Field(default=2, ge=1, le=64)
    pool_max_concurrency: int = Field(default=16, ge=1, le=1024)
    pool_cold_start_timeout: float = Field(default=30.0, gt=0)
    pool_max_queue: int = Field(default=256, ge=1)
    # Memory all replicas of this process may hold together, in MiB (0 = 80% of the machine's).
    pool_memory_mb: int = Field(default=0, ge=0)
    # torch threads per replica (0 = torch's default).
    replica_threads: int = Field(default=0, ge=0)
    # Per-deployment quotas (the seed's defaults; operators change one deployment's with
    # `maas quota set`), and where the counters live: memory:// (one process) or redis://host/db.
    quota_tokens_per_minute: int = Field(default=200_000, ge=1)
    quota_requests_per_minute: int = Field(default=1_000, ge=1)
    quota_store: str = "memory://"
    # Usage ledger: records per group commit, and whether to fsync the journal on every record
    # (survives a power cut, not only a crash of the process, at the cost of a disk flush each).
    ledger_max_batch: int = Field(default=2000, ge=1, le=20_000)
    ledger_fsync: bool = False
    # Wrong endpoint keys one client address may present per minute (a burst of that many, then
    # one per 60/N s) before its attempts answer 429; 0 turns the throttle off. Per process.
    auth_failures_per_minute: int = Field(default=20, ge=0)
    # Count failures against (and record in the activity log) the last X-Forwarded-For entry
    # instead of the connection's peer: only when a proxy in front of every request sets that
    # header (anyone else can write it).
    trust_forwarded_for: bool = False
    # Days the activity log keeps an event; older ones are pruned by the reconciler's loop.
    activity_retention_days: int = Field(default=90, ge=1, le=3650)
    # An external OpenID Connect issuer whose access tokens the management API accepts beside
    # its own (docs/security.md, "Trusting an external issuer"); off when unset. The issuer URL
    # must equal the tokens' `iss` exactly, e.g. https://login.microsoftonline.com/{tenant}/v2.0.
    trusted_issuer: str | None = None
    # The `aud` values accepted from it, comma-separated (each with or without a trailing '/').
    trusted_audience: str = "https://management.azure.com"
    # The claim that names the principal (its object id); unset: `oid` when present, else `sub`.
    trusted_principal_claim: str | None = None
    # When set, the token's `tid` must be this tenant id.
    trusted_tenant: str | None = None
    # Where its discovery document is; unset: {trusted_issuer}/.well-known/openid-configuration.
    trusted_issuer_metadata_url: str | None = None
    # Seconds one fetch of the discovery document or the keys may take.
    trusted_issuer_timeout: float = Field(default=5.0, gt=0, le=60)
    # The server log: the level of MaaS's and uvicorn's loggers (other libraries log warnings
    # and up), and one line per HTTP request (uvicorn's access log, query values that look like
    # credentials replaced; see maas.server.logs). Secrets are never logged at any level.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False

    @field_validator("secret")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("MAAS_SECRET must be at least 32 characters")
        return value

    @field_validator(
        "trusted_issuer", "trusted_principal_claim", "trusted_tenant", "trusted_issuer_metadata_url"
    )
    @classmethod
    def _unset_when_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("trusted_issuer", "trusted_issuer_metadata_url")
    @classmethod
    def _fetchable_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        reason = refused_url(value)
        if reason is not None:
            raise ValueError(f"{value!r} cannot be fetched from: {reason}")
        if info.field_name == "trusted_issuer" and "?" in value:
            raise ValueError(f"the issuer {value!r} must have no query string")
        return value

    @field_validator("trusted_audience")
    @classmethod
    def _some_audience(cls, value: str) -> str:
        if not [a for a in value.split(",") if a.strip()]:
            raise ValueError("MAAS_TRUSTED_AUDIENCE must name at least one audience")
        return value

    @field_validator("trusted_principal_claim")
    @classmethod
    def _claim_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError("MAAS_TRUSTED_PRINCIPAL_CLAIM must be a claim name such as oid or sub")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'maas.db'}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"
